//! Times the bitshuffle-LZ4 codec on a file of raw little-endian elements:
//! `cargo run --release -p hiss-runtime --example bslz4_bench -- FILE ELEM_SIZE
//! [REPEAT]`. Prints one JSON line: bytes, compressed bytes, and the seconds of
//! the fastest encode and decode (`scripts/bench_bslz4.py` runs it beside the
//! bitshuffle C library on the same data).

use hiss_runtime::detector::bslz4;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(file), Some(e)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: bslz4_bench FILE ELEM_SIZE [REPEAT]");
        std::process::exit(2);
    };
    let e: usize = e.parse().expect("ELEM_SIZE is an integer");
    let repeat: usize = args
        .get(3)
        .map_or(5, |r| r.parse().expect("REPEAT is an integer"));
    let data = std::fs::read(file).expect("FILE is readable");
    let (mut enc_s, mut dec_s) = (f64::MAX, f64::MAX);
    let mut packed = Vec::new();
    for _ in 0..repeat {
        let t = Instant::now();
        packed = bslz4::encode(&data, e, bslz4::default_block(e));
        enc_s = enc_s.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let back = bslz4::decode(&packed, e).expect("our own body decodes");
        dec_s = dec_s.min(t.elapsed().as_secs_f64());
        assert!(back == data, "the round trip differs");
    }
    println!(
        "{{\"bytes\": {}, \"compressed\": {}, \"encode_s\": {enc_s}, \"decode_s\": {dec_s}}}",
        data.len(),
        packed.len()
    );
}
