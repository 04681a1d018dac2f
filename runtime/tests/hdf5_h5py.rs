//! HDF5 detector files against h5py and hdf5plugin (the libraries beamline
//! software writes and reads them with): files h5py wrote in the layouts
//! writers use (one bitshuffle-LZ4 chunk per frame written directly as MAX IV's
//! receiver does, LZ4, deflate + shuffle, several frames per chunk, contiguous,
//! big-endian, the latest file format with its chunk indices) read here as
//! the same frames; files written here read in h5py as the same frames.
//! Skips with a loud message where h5py or hdf5plugin is missing, except in CI
//! (`CI=true`), which installs them.
#![cfg(feature = "hdf5")]

use hiss_runtime::detector::h5::{self, Chunk, H5Frames};
use hissc_aop::DType;
use std::process::Command;

const WRITE: &str = r#"
import sys, os, numpy as np, h5py, hdf5plugin, bitshuffle.h5
d = sys.argv[1]
rng = np.random.default_rng(11)
def frames(dt, n, shape):
    a = rng.poisson(0.6, (n,) + shape).astype(dt)
    a[rng.random(a.shape) < 1e-3] = np.iinfo(dt).max
    return a
cases = []
def case(name, a, libver="earliest", path="/entry/data/data", **kw):
    p = os.path.join(d, name + ".h5")
    with h5py.File(p, "w", libver=libver) as f:
        f.create_dataset(path, data=a, **kw)
    open(os.path.join(d, name + ".raw"), "wb").write(a.astype(a.dtype.newbyteorder("<")).tobytes())
    cases.append(f"{name} {path} {a.dtype.str} {' '.join(map(str, a.shape))}")
a = frames(np.uint16, 5, (33, 47))
case("bslz4", a, chunks=(1, 33, 47), **hdf5plugin.Bitshuffle(nelems=0, cname="lz4"))
case("bslz4_latest", a, libver="v110", chunks=(1, 33, 47), maxshape=(None, 33, 47),
     **hdf5plugin.Bitshuffle(nelems=0, cname="lz4"))
case("lz4", frames(np.uint32, 4, (20, 30)), chunks=(1, 20, 30), **hdf5plugin.LZ4())
case("deflate", frames(np.int16, 3, (16, 16)), chunks=(1, 16, 16), compression="gzip", shuffle=True)
case("two_per_chunk", frames(np.uint16, 5, (8, 9)), chunks=(2, 4, 9), **hdf5plugin.Bitshuffle())
case("contiguous", frames(np.uint8, 6, (7, 5)))
case("big_endian", frames(np.dtype(">u2"), 3, (6, 6)), chunks=(1, 6, 6))
case("other_path", frames(np.uint16, 2, (4, 4)), path="/scan/frames", chunks=(1, 4, 4))
# MAX IV's receiver: each frame compressed once, its blob written as the chunk
p = os.path.join(d, "direct.h5")
a = frames(np.uint16, 4, (64, 80))
with h5py.File(p, "w") as f:
    ds = f.create_dataset("/entry/data/data", shape=a.shape, dtype=a.dtype, chunks=(1, 64, 80),
                          **hdf5plugin.Bitshuffle(nelems=0, cname="lz4"))
    for i in range(a.shape[0]):
        blob = bitshuffle.compress_lz4(a[i], 0).tobytes()
        hdr = a[i].nbytes.to_bytes(8, "big") + (4096 * 2).to_bytes(4, "big")
        ds.id.write_direct_chunk((i, 0, 0), hdr + blob)
open(os.path.join(d, "direct.raw"), "wb").write(a.tobytes())
cases.append(f"direct /entry/data/data {a.dtype.str} {' '.join(map(str, a.shape))}")
with h5py.File(os.path.join(d, "zstd.h5"), "w") as f:
    f.create_dataset("/entry/data/data", data=a, chunks=(1, 64, 80), **hdf5plugin.Bitshuffle(cname="zstd"))
with h5py.File(os.path.join(d, "blosc.h5"), "w") as f:
    f.create_dataset("/entry/data/data", data=a, chunks=(1, 64, 80), **hdf5plugin.Blosc())
print("\n".join(cases))
"#;

const READ: &str = r#"
import sys, numpy as np, h5py, hdf5plugin
p, raw, shape = sys.argv[1], sys.argv[2], tuple(int(x) for x in sys.argv[3:])
with h5py.File(p, "r") as f:
    ds = f["/entry/data/data"]
    assert ds.chunks == (1,) + shape[1:], ds.chunks
    assert "32008" in ds._filters, ds._filters
    got = ds[()]
want = np.fromfile(raw, dtype=got.dtype).reshape(shape)
assert got.shape == shape and (got == want).all(), "h5py reads other frames"
print("ok")
"#;

fn python_has_h5py() -> bool {
    Command::new("python3")
        .args(["-c", "import h5py, hdf5plugin, bitshuffle"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skip() -> bool {
    if python_has_h5py() {
        return false;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "h5py, hdf5plugin or bitshuffle is missing in CI"
    );
    eprintln!("\n!!!!!!!! SKIPPED: h5py + hdf5plugin + bitshuffle (pip) are missing !!!!!!!!\n");
    true
}

fn dtype(numpy_str: &str) -> DType {
    DType::from_numpy_name(match &numpy_str[1..] {
        "u1" => "uint8",
        "u2" => "uint16",
        "u4" => "uint32",
        "i2" => "int16",
        s => panic!("a test dtype {s}"),
    })
    .unwrap()
}

#[test]
fn files_h5py_wrote_read_as_the_same_frames() {
    if skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new("python3")
        .args(["-c", WRITE, dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let listing = String::from_utf8_lossy(&o.stdout).to_string();
    let mut n = 0;
    for line in listing.lines() {
        let mut w = line.split(' ');
        let (name, path, dt) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap());
        let shape: Vec<u32> = w.map(|x| x.parse().unwrap()).collect();
        let file = dir.path().join(format!("{name}.h5"));
        let raw = std::fs::read(dir.path().join(format!("{name}.raw"))).unwrap();
        let f = h5::frames(&file, Some(path)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(f.dtype, dtype(dt), "{name}");
        assert_eq!(
            (f.count as u32, &f.frame[..]),
            (shape[0], &shape[1..]),
            "{name}"
        );
        assert!(f.data == raw, "{name}: other frames");
        // frame by frame, as a node reads them
        let one = H5Frames::open(&file, Some(path)).unwrap();
        let mut buf = vec![0u8; one.frame_bytes()];
        one.read(f.count - 1, &mut buf).unwrap();
        assert!(
            buf[..] == raw[raw.len() - buf.len()..],
            "{name}: the last frame"
        );
        n += 1;
    }
    assert_eq!(n, 9);
    // what is not read is refused with the reason
    let zstd = h5::frames(&dir.path().join("zstd.h5"), None).unwrap_err();
    assert!(zstd.contains("Zstandard"), "{zstd}");
    let blosc = h5::frames(&dir.path().join("blosc.h5"), None).unwrap_err();
    assert!(blosc.contains("filter 32001"), "{blosc}");
    let nothing = h5::frames(&dir.path().join("bslz4.h5"), Some("/entry/instrument")).unwrap_err();
    assert!(nothing.contains("no `/entry/instrument`"), "{nothing}");
    std::fs::write(dir.path().join("not.h5"), b"plain text").unwrap();
    let not = h5::frames(&dir.path().join("not.h5"), None).unwrap_err();
    assert!(not.contains("cannot open it as an HDF5 file"), "{not}");
}

#[test]
fn files_written_here_read_in_h5py_as_the_same_frames() {
    if skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (dt, shape) in [
        (DType::U16, [7u32, 514, 103]),
        (DType::U32, [3, 17, 9]),
        (DType::I8, [2, 3, 5]),
    ] {
        let es = dt.bytes();
        let frame: usize = (shape[1] * shape[2]) as usize * es;
        let data: Vec<u8> = (0..frame * shape[0] as usize)
            .map(|i| if i % 97 < 3 { (i * 31 % 251) as u8 } else { 0 })
            .collect();
        let h5 = dir.path().join(format!("{}.h5", dt.numpy_name()));
        let raw = dir.path().join(format!("{}.raw", dt.numpy_name()));
        std::fs::write(&raw, &data).unwrap();
        h5::write_bslz4(&h5, dt, &shape[1..], shape[0] as usize, |i| {
            let f = data[i * frame..(i + 1) * frame].to_vec();
            // half the frames arrive compressed already (a kept frame's chunk)
            Ok(if i % 2 == 0 {
                Chunk::Frame(f)
            } else {
                Chunk::Bslz4(hiss_runtime::detector::bslz4::encode(&f, es, 1024))
            })
        })
        .unwrap();
        let mut args = vec!["-c".to_string(), READ.to_string()];
        args.push(h5.to_str().unwrap().into());
        args.push(raw.to_str().unwrap().into());
        args.extend(shape.iter().map(|d| d.to_string()));
        let o = Command::new("python3").args(&args).output().unwrap();
        assert!(
            o.status.success(),
            "{dt:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stdout).contains("ok"));
    }
}
