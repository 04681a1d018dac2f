//! The runtime: bundles of every public conformance kernel load into the
//! emulated slot, which gives the reference interpreter's values on batches of
//! random frames; loads and runs that must fail do, saying why, and leave the
//! slot as it was.

use hiss_runtime::bundle::{ports, sha256_hex, Manifest, Resources, FORMAT_VERSION};
use hiss_runtime::{Bundle, EmulatedSlot, Slot, SlotError, SlotState};
use hissc_aop::Array;
use hissc_testsuite::gen::Rng;
use hissc_testsuite::{compile, conformance, entries, source};

/// A bundle of a compiled kernel as the emulated slot reads it (no bitstream is
/// needed to emulate; the build figures are not looked at).
fn bundle_of(src: &hissc_diagnostics::SourceFile, net: &hissc_spn::Network) -> Bundle {
    let (inputs, params, outputs) = ports(net);
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        kernel: net.name.clone(),
        source_sha256: sha256_hex(src.text.as_bytes()),
        inputs,
        params,
        states: vec![],
        outputs,
        target: "ice40-hx8k".into(),
        package: "ct256".into(),
        lanes: net.lanes(),
        clock_mhz: 0.0,
        fmax_nextpnr_mhz: 0.0,
        fmax_icetime_mhz: 0.0,
        resources: Resources {
            logic_cells: (0, 7680),
            block_rams: (0, 32),
            dsps: (0, 0),
            ios: (0, 256),
        },
        throughput_gbps: 0.0,
        latency_cycles: 0,
        frame_cycles: net.frame_period(),
        hissc_version: env!("CARGO_PKG_VERSION").into(),
        tools: vec![],
    };
    let b = Bundle::new(
        manifest,
        [
            vec![],
            hissc_vhdl::emit(net, src).design.into_bytes(),
            hissc_spn::print::print(net, Some(src)).into_bytes(),
            src.text.clone().into_bytes(),
        ],
    );
    // through the file format, as a node receives it
    Bundle::from_bytes(&b.to_bytes()).expect("a bundle reads back")
}

/// A batch of `frames` random frames for kernel `k`: the stream inputs with a
/// batch axis, the parameters by name, and each frame's arguments (for the
/// interpreter).
type Batch = (Vec<(String, Array)>, Vec<(String, i128)>, Vec<Vec<Array>>);

fn random_batch(k: &hissc_aop::Kernel, rng: &mut Rng, frames: usize) -> Batch {
    let (mut streams, mut params) = (Vec::new(), Vec::new());
    let mut per_frame: Vec<Vec<Array>> = vec![Vec::new(); frames];
    for p in &k.params {
        if p.is_stream() {
            let numel = p.ty.numel();
            let data: Vec<i128> = (0..numel * frames)
                .map(|_| rng.value(p.range.lo, p.range.hi))
                .collect();
            for (f, frame) in per_frame.iter_mut().enumerate() {
                frame.push(Array::new(
                    p.ty.dtype,
                    p.ty.shape.clone(),
                    data[f * numel..(f + 1) * numel].to_vec(),
                ));
            }
            let mut shape = vec![frames as u32];
            shape.extend_from_slice(&p.ty.shape);
            streams.push((p.name.clone(), Array::new(p.ty.dtype, shape, data)));
        } else {
            let v = rng.value(p.range.lo, p.range.hi);
            params.push((p.name.clone(), v));
            for frame in per_frame.iter_mut() {
                frame.push(Array::new(p.ty.dtype, vec![], vec![v]));
            }
        }
    }
    (streams, params, per_frame)
}

#[test]
fn the_emulated_slot_runs_every_public_case_as_the_interpreter() {
    let mut n = 0;
    for dir in entries(&conformance().join("cases")) {
        let src = source(&dir.join("kernel.py"));
        let (k, net) = compile(&src, None).unwrap_or_else(|e| panic!("{e}"));
        let mut slot = EmulatedSlot::new("ice40-hx8k");
        assert_eq!(slot.state(), SlotState::Unknown);
        slot.load(&bundle_of(&src, &net))
            .unwrap_or_else(|e| panic!("{}: {e}", src.name));
        assert_eq!(slot.state(), SlotState::Operating);
        let mut rng = Rng::new(n + 3);
        let (streams, params, per_frame) = random_batch(&k, &mut rng, 3);
        for (name, v) in &params {
            slot.set_param(name, *v).unwrap();
        }
        let batch: Vec<Array> = streams.into_iter().map(|(_, a)| a).collect();
        let got = slot
            .run(batch)
            .unwrap_or_else(|e| panic!("{}: {e}", src.name));
        for (f, args) in per_frame.iter().enumerate() {
            let want = hissc_aop::interp::run(&k, args);
            for (o, w) in want.iter().enumerate() {
                let g = &got[o];
                assert_eq!(g.dtype, w.dtype, "{}", src.name);
                assert_eq!(&g.shape[1..], &w.shape[..], "{}", src.name);
                let m = w.data.len();
                assert_eq!(
                    &g.data[f * m..(f + 1) * m],
                    &w.data[..],
                    "{} frame {f} output {o}",
                    src.name
                );
            }
        }
        n += 1;
    }
    assert!(n >= 18);
}

#[test]
fn refusals_say_why_and_leave_the_slot_as_it_was() {
    let src = source(&conformance().join("cases/threshold_sum/kernel.py"));
    let (_, net) = compile(&src, None).unwrap();
    let good = bundle_of(&src, &net);
    // another device
    let mut slot = EmulatedSlot::new("ice40-up5k");
    let e = slot.load(&good).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the bundle is built for `ice40-hx8k`, and this slot takes `ice40-up5k`"
    );
    assert_eq!(slot.state(), SlotState::Unknown);
    // a loaded slot keeps its kernel when a broken design fails to load
    let mut slot = EmulatedSlot::new("ice40-hx8k");
    slot.load(&good).unwrap();
    let mut broken = good.clone();
    broken.parts[3].1 = b"network nothing {".to_vec();
    assert!(matches!(slot.load(&broken), Err(SlotError::Load(_))));
    assert_eq!(slot.state(), SlotState::Operating);
    assert_eq!(slot.kernel(), Some("threshold_sum"));
    // parameters: unknown names and values outside the dtype
    assert!(slot
        .set_param("nope", 1)
        .unwrap_err()
        .to_string()
        .contains("has no parameter `nope`"));
    let e = slot.set_param("t", 70000).unwrap_err().to_string();
    assert!(e.contains("outside its range 0..=65535 (uint16)"), "{e}");
    // running before the parameter is set, and with a wrong input
    let frame = Array::new(hissc_aop::DType::U16, vec![32, 32], vec![1; 1024]);
    assert_eq!(
        slot.run(vec![frame.clone()]).unwrap_err().to_string(),
        "parameter `t` is not set"
    );
    slot.set_param("t", 0).unwrap();
    let out = slot.run(vec![frame]).unwrap();
    assert_eq!(out[0].data, vec![1024]);
    let wrong = Array::new(hissc_aop::DType::U8, vec![32, 32], vec![1; 1024]);
    assert!(slot
        .run(vec![wrong])
        .unwrap_err()
        .to_string()
        .contains("dtype uint8"));
    slot.unload();
    assert_eq!(slot.run(vec![]).unwrap_err(), SlotError::NotLoaded);
}

/// The library API: a batch as `.npy` bytes by name, outputs as the `.npy`
/// bytes `hissc run` would write (the interpreter's values, numpy's dtypes).
#[test]
fn npy_batches_in_npy_results_out() {
    use hiss_runtime::npy;
    for dir in entries(&conformance().join("cases")) {
        let src = source(&dir.join("kernel.py"));
        let (k, net) = compile(&src, None).unwrap();
        let bundle = bundle_of(&src, &net);
        let mut slot = EmulatedSlot::new("ice40-hx8k");
        slot.load(&bundle).unwrap();
        let mut rng = Rng::new(99);
        let frames = 2usize;
        let (streams, params, per_frame) = random_batch(&k, &mut rng, frames);
        let files: Vec<(String, Vec<u8>)> = streams
            .iter()
            .map(|(n, a)| (n.clone(), npy::to_bytes(a)))
            .collect();
        let inputs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let ps: Vec<(&str, i128)> = params.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let got = hiss_runtime::run_npy(&mut slot, &bundle.manifest, &inputs, &ps)
            .unwrap_or_else(|e| panic!("{}: {e}", src.name));
        // what `hissc run` writes: each output stacked over the frames
        let want: Vec<Vec<Array>> = per_frame
            .iter()
            .map(|a| hissc_aop::interp::run(&k, a))
            .collect();
        assert_eq!(got.len(), want[0].len(), "{}", src.name);
        for (o, (name, bytes)) in got.iter().enumerate() {
            let expected_name = if got.len() == 1 {
                "out.npy".to_string()
            } else {
                format!("out{o}.npy")
            };
            assert_eq!(name, &expected_name);
            let first = &want[0][o];
            let mut shape = vec![frames as u32];
            shape.extend_from_slice(&first.shape);
            let data = want
                .iter()
                .flat_map(|w| w[o].data.iter().copied())
                .collect();
            let stacked = Array::new(first.dtype, shape, data);
            assert_eq!(bytes, &npy::to_bytes(&stacked), "{} {name}", src.name);
        }
    }
}
