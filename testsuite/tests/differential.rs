//! The engines agree on random kernels: reference interpreter ≡ simulator on
//! every generated kernel, and, for a sample, ≡ the VHDL in GHDL.
//!
//! `HISSC_RANDOM_CASES=N` runs N kernels instead of the default (the long mode).

use hissc_diagnostics::SourceFile;
use hissc_testsuite::gen::{self, Rng};
use proptest::prelude::*;

fn cases(default: u32) -> u32 {
    std::env::var("HISSC_RANDOM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn check(seed: u64, hardware: bool, netlist: bool) -> Result<(), String> {
    let k = gen::kernel(seed);
    let src = SourceFile::new("random.py", k.source.clone());
    let (kernel, net) = hissc_testsuite::compile(&src, None)
        .map_err(|e| format!("seed {seed}: rejected\n{}\n{e}", k.source))?;
    let mut rng = Rng::new(seed ^ 0xABCD);
    let frames: Vec<_> = (0..1 + rng.below(2))
        .map(|_| gen::frame(&mut rng, &k))
        .collect();
    // the scalar parameter is the same in every frame
    let frames: Vec<_> = frames
        .iter()
        .map(|f| {
            f.iter()
                .enumerate()
                .map(|(i, a)| {
                    if a.shape.is_empty() {
                        frames[0][i].clone()
                    } else {
                        a.clone()
                    }
                })
                .collect()
        })
        .collect();
    hissc_testsuite::agree(&src, &kernel, &net, &frames, hardware, netlist)
        .map_err(|e| format!("seed {seed}:\n{}\n{e}", k.source))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn interpreter_equals_simulator(seed in any::<u64>()) {
        if let Err(e) = check(seed, false, false) {
            prop_assert!(false, "{}", e);
        }
    }
}

#[test]
fn interpreter_simulator_and_ghdl_agree_on_a_sample() {
    if !hissc_testsuite::ghdl_or_skip("interpreter_simulator_and_ghdl_agree_on_a_sample") {
        return;
    }
    let n = (cases(300) / 25).max(8) as u64;
    for seed in 0..n {
        // every other sample runs the synthesized netlist (ghdl --synth) instead of the source
        if let Err(e) = check(seed * 7919 + 1, true, seed % 2 == 1) {
            panic!("{e}");
        }
    }
}
