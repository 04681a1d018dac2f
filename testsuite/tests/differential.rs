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

/// `HISSC_RANDOM_SEED=N` (and `HISSC_RANDOM_LANES=L`, default 1): the GHDL
/// samples check only the kernel of seed N, from the source and from the
/// netlist — a failure's seed, run again on its own.
fn only_seed() -> Option<(u64, u32)> {
    let seed = std::env::var("HISSC_RANDOM_SEED").ok()?.parse().ok()?;
    let lanes = std::env::var("HISSC_RANDOM_LANES")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(1);
    Some((seed, lanes))
}

/// Runs a random kernel with up to `lanes` lanes; whether it took them all
/// (`false`: a construct took fewer, and the warning must name it).
fn check(seed: u64, hardware: bool, netlist: bool, lanes: u32) -> Result<bool, String> {
    check_kernel(gen::kernel(seed), seed, hardware, netlist, lanes)
}

/// [`check`] on the kernel a list of choices makes: what proptest shrinks, so a
/// failure is reported on a small kernel.
fn check_choices(choices: &[u64], lanes: u32) -> Result<bool, String> {
    let seed = choices.iter().fold(17u64, |h, &c| {
        h.wrapping_mul(0x100_0000_01b3).wrapping_add(c)
    });
    check_kernel(
        gen::kernel_from(choices.to_vec()),
        seed,
        false,
        false,
        lanes,
    )
}

fn check_kernel(
    k: gen::GenKernel,
    seed: u64,
    hardware: bool,
    netlist: bool,
    lanes: u32,
) -> Result<bool, String> {
    let src = SourceFile::new("random.py", k.source.clone());
    let (kernel, net, why) = hissc_testsuite::compile_lanes_why(&src, None, lanes)
        .map_err(|e| format!("seed {seed} lanes {lanes}: rejected\n{}\n{e}", k.source))?;
    // a design larger than an FPGA (HS0403) still simulates; only lane
    // warnings (HS0402) say the kernel took fewer lanes
    let warnings: Vec<&str> = why
        .split("warning[")
        .skip(1)
        .filter(|w| !w.starts_with("HS0403"))
        .collect();
    let named = warnings
        .iter()
        .all(|w| w.starts_with("HS0402") && names_its_construct(w, &k.source));
    if !why.is_empty() && !why.contains("warning[") || !named {
        return Err(format!(
            "seed {seed} lanes {lanes}: fewer lanes for a construct the kernel does not have\n{}\n{why}",
            k.source
        ));
    }
    let mut rng = Rng::new(seed ^ 0xABCD);
    let frames: Vec<_> = (0..1 + rng.below(4))
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
        .map_err(|e| format!("seed {seed} lanes {lanes}:\n{}\n{e}", k.source))?;
    Ok(warnings.is_empty())
}

/// Whether every `HS0402` warning (a construct that took fewer lanes) names a
/// construct the kernel really has (the generator's spelling of each), so a
/// lane bug cannot hide as a fallback to fewer lanes.
fn names_its_construct(diag: &str, source: &str) -> bool {
    let has = |s: &str| source.contains(s);
    if diag.contains("`argmax` over") {
        has("argmax")
    } else if diag.contains("`argmin` over") {
        has("argmin")
    } else if diag.contains("bins cannot stream out") {
        has("bincount") || has("histogram")
    } else if diag.contains("a broadcast of") {
        has("row") || has("col")
    } else if diag.contains("a slice whose selection") {
        has("::") || has("stencil")
    } else if diag.contains("elements that move between lanes") {
        // a gearbox that cannot keep up: after a slice, or for a column broadcast
        has("::") || has("col") || has("stencil")
    } else if diag.contains("a reduction over axes") {
        has("axis=")
    } else if diag.contains("leave their gearboxes at different times") {
        has("stencil")
    } else if diag.contains("the selection of") {
        has("[hit]") || has("flatnonzero")
    } else if diag.contains("state `") {
        has("State[")
    } else if diag.contains("lanes do not divide") {
        // an input whose elements per frame the lanes do not divide: every kernel has inputs
        has("Array[")
    } else {
        false
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), failure_persistence: None, ..ProptestConfig::default() })]
    // the kernels come from lists of choices, so a failure shrinks to a small kernel
    #[test]
    fn interpreter_equals_simulator(choices in prop::collection::vec(any::<u64>(), 0..160)) {
        if let Err(e) = check_choices(&choices, 1) {
            prop_assert!(false, "{}", e);
        }
    }

    #[test]
    fn interpreter_equals_simulator_with_lanes(choices in prop::collection::vec(any::<u64>(), 0..160), lanes in prop::sample::select(vec![2u32, 4, 8, 16, 32])) {
        if let Err(e) = check_choices(&choices, lanes) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// The lane tests are not vacuous: a good share of random kernels take all 4
/// lanes (40 % do, 28 % before rows that straddle cycles kept their lanes;
/// about a third have frames whose element count 4 does not divide, which used
/// to count as widened though they took one or two lanes silently, and the rest
/// have slices, column reductions or narrow rows that 4 lanes do not line up
/// with, or frames too short to stream their bins out). Those take fewer lanes with a warning that
/// must name a construct the kernel has, see [`names_its_construct`].
#[test]
fn random_kernels_widen_or_name_the_construct() {
    let n = 200u64;
    let ran = (0..n)
        .filter(|&s| check(s * 31 + 5, false, false, 4).unwrap_or_else(|e| panic!("{e}")))
        .count() as u64;
    assert!(
        ran * 4 >= n,
        "only {ran} of {n} random kernels widened to 4 lanes"
    );
}

#[test]
fn interpreter_simulator_and_ghdl_agree_on_a_sample() {
    if !hissc_testsuite::ghdl_or_skip("interpreter_simulator_and_ghdl_agree_on_a_sample") {
        return;
    }
    if let Some((seed, lanes)) = only_seed() {
        for netlist in [false, true] {
            check(seed, true, netlist, lanes).unwrap_or_else(|e| panic!("netlist {netlist}: {e}"));
        }
        return;
    }
    let n = (cases(300) / 25).max(8) as u64;
    for seed in 0..n {
        // every other sample runs the synthesized netlist (ghdl --synth) instead of the source
        if let Err(e) = check(seed * 7919 + 1, true, seed % 2 == 1, 1) {
            panic!("netlist {}: {e}", seed % 2 == 1);
        }
    }
}

#[test]
fn lanes_in_ghdl_on_a_sample() {
    if !hissc_testsuite::ghdl_or_skip("lanes_in_ghdl_on_a_sample") {
        return;
    }
    if only_seed().is_some() {
        return; // the other sample test runs it
    }
    let n = (cases(300) / 25).max(8) as u64;
    let mut ran = 0;
    for seed in 0..4 * n {
        let lanes = [2, 4, 8][seed as usize % 3];
        match check(seed * 6007 + 3, true, seed % 2 == 1, lanes) {
            Ok(true) => ran += 1,
            Ok(false) => {}
            Err(e) => panic!("{e}"),
        }
        if ran == n {
            break;
        }
    }
    assert_eq!(ran, n, "too few random kernels widened");
}

/// Failures shrink: given a property that fails for every kernel with an
/// `argmax`, proptest's shrinking of the choice list ends at a kernel that still
/// has one, is smaller than the random kernel that first failed, and whose
/// generated expression has shrunk to a parameter.
#[test]
fn a_failing_kernel_shrinks() {
    use proptest::test_runner::{Config, TestError, TestRng, TestRunner};
    use std::cell::Cell;
    let config = Config {
        cases: 2000,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let first = Cell::new(0usize);
    let result = runner.run(&prop::collection::vec(any::<u64>(), 0..160), |choices| {
        let k = gen::kernel_from(choices);
        if k.source.contains("argmax") && first.get() == 0 {
            first.set(k.source.len());
        }
        prop_assert!(!k.source.contains("argmax"));
        Ok(())
    });
    match result {
        Err(TestError::Fail(_, choices)) => {
            let k = gen::kernel_from(choices);
            assert!(k.source.contains("argmax"), "{}", k.source);
            // smaller than the first failure, its expression shrunk to a leaf
            assert!(
                k.source.len() < first.get() && k.source.contains("    x = a0\n"),
                "not shrunk ({} bytes, the first failure had {}):\n{}",
                k.source.len(),
                first.get(),
                k.source
            );
        }
        other => panic!("expected a failure to shrink, got {other:?}"),
    }
}
