//! The bitshuffle-LZ4 codec against the bitshuffle C library (PyPI
//! `bitshuffle`, the code of the HDF5 filter 32008): bodies the C library
//! wrote decode to the same elements here, and bodies written here decode in
//! the C library, on random and detector-like data of every element size.
//! Skips with a loud message where Python's `bitshuffle` is missing, except in
//! CI (`CI=true`), which installs it.

use hiss_runtime::detector::bslz4;
use std::process::Command;

const SCRIPT: &str = r#"
import sys, os, numpy as np, bitshuffle
d = sys.argv[1]
def body(a):
    # the HDF5 filter's framing around bitshuffle's blocks
    block = bitshuffle.default_block_size(a.dtype.itemsize) if hasattr(bitshuffle, "default_block_size") else 0
    c = bitshuffle.compress_lz4(a, block).tobytes()
    bs = block or (8192 // a.itemsize) // 8 * 8
    return a.nbytes.to_bytes(8, "big") + (bs * a.itemsize).to_bytes(4, "big") + c
if sys.argv[2] == "write":
    rng = np.random.default_rng(7)
    cases = []
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        for n in (0, 7, 8, 1000, 4101, 70001):
            cases.append(rng.integers(0, np.iinfo(dt).max, n, dtype=dt, endpoint=True))
            pois = rng.poisson(0.4, n).astype(dt)
            pois[rng.random(n) < 1e-3] = np.iinfo(dt).max
            cases.append(pois)
    for i, a in enumerate(cases):
        open(os.path.join(d, f"{i}.raw"), "wb").write(a.tobytes())
        open(os.path.join(d, f"{i}.c"), "wb").write(body(a))
        open(os.path.join(d, f"{i}.size"), "w").write(str(a.itemsize))
    print(len(cases))
else:
    for name in sorted(os.listdir(d)):
        if not name.endswith(".ours"):
            continue
        i = name[:-5]
        e = int(open(os.path.join(d, i + ".size")).read())
        raw = open(os.path.join(d, i + ".raw"), "rb").read()
        b = open(os.path.join(d, name), "rb").read()
        n = int.from_bytes(b[:8], "big") // e
        bs = int.from_bytes(b[8:12], "big") // e
        dt = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[e]
        got = bitshuffle.decompress_lz4(np.frombuffer(b[12:], np.uint8), (n,), np.dtype(dt), bs)
        assert got.tobytes() == raw, f"case {i}: the C library reads other elements"
    print("ok")
"#;

fn python_has_bitshuffle() -> bool {
    Command::new("python3")
        .args(["-c", "import bitshuffle"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn our_codec_and_the_c_library_read_each_others_bodies() {
    if !python_has_bitshuffle() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Python's bitshuffle is missing in CI"
        );
        eprintln!("\n!!!!!!!! SKIPPED: Python's bitshuffle (pip install bitshuffle) is missing !!!!!!!!\n");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = Command::new("python3")
        .args(["-c", SCRIPT, d, "write"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cases: usize = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    assert!(cases > 40);
    for i in 0..cases {
        let p = |ext: &str| dir.path().join(format!("{i}.{ext}"));
        let raw = std::fs::read(p("raw")).unwrap();
        let e: usize = std::fs::read_to_string(p("size")).unwrap().parse().unwrap();
        let theirs = std::fs::read(p("c")).unwrap();
        assert_eq!(
            bslz4::decode(&theirs, e).unwrap(),
            raw,
            "case {i}: the C library's body"
        );
        std::fs::write(p("ours"), bslz4::encode(&raw, e, bslz4::default_block(e))).unwrap();
    }
    let o = Command::new("python3")
        .args(["-c", SCRIPT, d, "read"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "ok");
}
