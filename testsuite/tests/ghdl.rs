//! The hardware: every public conformance kernel that compiles is checked in GHDL
//! against the simulator (which is checked against the interpreter), on random
//! inputs and on a batch of frames; and a corrupted trace must be caught.

use hissc_aop::Array;
use hissc_testsuite::gen::Rng;
use hissc_testsuite::{agree, compile, conformance, entries, ghdl_or_skip, source};

fn random_frame(rng: &mut Rng, k: &hissc_aop::Kernel) -> Vec<Array> {
    k.params
        .iter()
        .map(|p| {
            let data = (0..p.ty.numel())
                .map(|_| rng.value(p.range.lo, p.range.hi))
                .collect();
            Array::new(p.ty.dtype, p.ty.shape.clone(), data)
        })
        .collect()
}

#[test]
fn conformance_kernels_in_ghdl() {
    if !ghdl_or_skip("conformance_kernels_in_ghdl") {
        return;
    }
    let mut checked = Vec::new();
    for dir in entries(&conformance().join("cases")) {
        let src = source(&dir.join("kernel.py"));
        let Ok((k, net)) = compile(&src, None) else {
            continue;
        };
        let mut rng = Rng::new(checked.len() as u64 + 1);
        let first = random_frame(&mut rng, &k);
        let frames: Vec<Vec<Array>> = (0..3)
            .map(|f| {
                if f == 0 {
                    first.clone()
                } else {
                    random_frame(&mut rng, &k)
                        .into_iter()
                        .zip(&first)
                        .map(|(a, b)| if a.shape.is_empty() { b.clone() } else { a })
                        .collect()
                }
            })
            .collect();
        agree(&src, &k, &net, &frames, true, false).unwrap_or_else(|e| panic!("{}: {e}", src.name));
        checked.push(src.name.clone());
    }
    for must in [
        "threshold_sum",
        "zero_suppress",
        "row_gain",
        "frame_stats",
        "keep_frame",
    ] {
        assert!(
            checked.iter().any(|c| c.starts_with(must)),
            "{must} was not checked: {checked:?}"
        );
    }
}

#[test]
fn a_corrupted_trace_is_caught_at_its_cycle() {
    if !ghdl_or_skip("a_corrupted_trace_is_caught_at_its_cycle") {
        return;
    }
    let src = source(&conformance().join("cases/zero_suppress/kernel.py"));
    let (k, net) = compile(&src, None).unwrap();
    let mut rng = Rng::new(7);
    let frame = random_frame(&mut rng, &k);
    let stream: Vec<Array> = vec![frame[0].clone()];
    let mut sim = hissc_sim::simulate(&net, &[stream], &[frame[1].data[0]], true).unwrap();
    let rows = sim.trace.as_mut().unwrap();
    let bad = rows.iter().position(|r| r.outputs[0].0).unwrap() + 17;
    rows[bad].outputs[0].1[0] ^= 1;
    let dir = tempfile::tempdir().unwrap();
    let (_, verdict) = hissc_flow::hardware::check(dir.path(), &net, &src, rows, &[], false);
    match verdict {
        Err(hissc_flow::ghdl::GhdlError::Mismatch { cycle, signal, .. }) => {
            assert_eq!(cycle as usize, bad);
            assert_eq!(signal, "out_data");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
}
