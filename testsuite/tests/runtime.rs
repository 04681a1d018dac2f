//! The runtime: bundles of every public conformance kernel load into the
//! emulated slot, which gives the reference interpreter's values on batches of
//! random frames; loads and runs that must fail do, saying why, and leave the
//! slot as it was.

use hiss_runtime::bundle::{ports, sha256_hex, Manifest, Resources, FORMAT_VERSION};
use hiss_runtime::{Bundle, CpuSlot, EmulatedSlot, Slot, SlotError, SlotState};
use hissc_aop::Array;
use hissc_testsuite::gen::Rng;
use hissc_testsuite::{compile, entries, source};

/// A bundle of a compiled kernel as the emulated slot reads it (no bitstream is
/// needed to emulate; the build figures are not looked at).
fn bundle_of(
    src: &hissc_diagnostics::SourceFile,
    k: &hissc_aop::Kernel,
    net: &hissc_spn::Network,
) -> Bundle {
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
        fmax_icetime_mhz: Some(0.0),
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
            hissc_aop::print::print(k, Some(src)).into_bytes(),
        ],
    );
    // through the file format, as a node receives it
    Bundle::from_bytes(&b.to_bytes()).expect("a bundle reads back")
}

/// The public case in `dir`: its source, its kernel, and an emulated slot with
/// its bundle loaded.
fn loaded(
    dir: &std::path::Path,
) -> (
    hissc_diagnostics::SourceFile,
    hissc_aop::Kernel,
    EmulatedSlot,
) {
    let src = source(&dir.join("kernel.py"));
    let (k, net) = compile(&src, None).unwrap();
    let mut slot = EmulatedSlot::new("ice40-hx8k");
    slot.load(&bundle_of(&src, &k, &net)).unwrap();
    (src, k, slot)
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
fn the_emulated_and_cpu_slots_run_every_public_case_as_the_interpreter() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    let mut n = 0;
    for dir in entries(&conf.join("cases")) {
        let src = source(&dir.join("kernel.py"));
        let (k, net) = compile(&src, None).unwrap_or_else(|e| panic!("{e}"));
        let slots: [Box<dyn Slot>; 2] = [
            Box::new(EmulatedSlot::new("ice40-hx8k")),
            Box::new(CpuSlot::new()),
        ];
        for mut slot in slots {
            assert_eq!(slot.state(), SlotState::Unknown);
            slot.load(&bundle_of(&src, &k, &net))
                .unwrap_or_else(|e| panic!("{}: {e}", src.name));
            assert_eq!(slot.state(), SlotState::Operating);
            runs_as_the_interpreter(&mut *slot, &src, &k, n);
        }
        n += 1;
    }
    assert!(n >= 18);
}

/// Three random frames of kernel `k` through `slot` give the interpreter's values.
fn runs_as_the_interpreter(
    slot: &mut dyn Slot,
    src: &hissc_diagnostics::SourceFile,
    k: &hissc_aop::Kernel,
    n: u64,
) {
    let mut rng = Rng::new(n + 3);
    let (streams, params, per_frame) = random_batch(k, &mut rng, 3);
    for (name, v) in &params {
        slot.set_param(name, *v).unwrap();
    }
    let batch: Vec<Array> = streams.into_iter().map(|(_, a)| a).collect();
    let got = slot
        .run(batch)
        .unwrap_or_else(|e| panic!("{} on {}: {e}", src.name, slot.name()));
    for (f, args) in per_frame.iter().enumerate() {
        let want = hissc_aop::interp::run(k, args);
        for (o, w) in want.iter().enumerate() {
            let g = &got[o];
            assert_eq!(g.dtype, w.dtype, "{}", src.name);
            assert_eq!(&g.shape[1..], &w.shape[..], "{}", src.name);
            let m = w.data.len();
            assert_eq!(
                &g.data[f * m..(f + 1) * m],
                &w.data[..],
                "{} on {}: frame {f} output {o}",
                src.name,
                slot.name()
            );
        }
    }
}

#[test]
fn refusals_say_why_and_leave_the_slot_as_it_was() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    let src = source(&conf.join("cases/threshold_sum/kernel.py"));
    let (k, net) = compile(&src, None).unwrap();
    let good = bundle_of(&src, &k, &net);
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

    // the CPU slot takes a bundle of any target, refuses one without its
    // array ops or with ops that are not the manifest's kernel, and keeps
    // what it had
    let mut cpu = CpuSlot::new();
    cpu.load(&good).unwrap();
    let mut old = good.clone();
    old.manifest.format_version = 1;
    old.parts.pop();
    let e = cpu.load(&old).unwrap_err().to_string();
    assert!(e.contains("has no `kernel.aop` (format version 1"), "{e}");
    let mut other = good.clone();
    let text = String::from_utf8(other.parts[5].1.clone()).unwrap();
    other.parts[5].1 = text.replace("threshold_sum", "other").into_bytes();
    let e = cpu.load(&other).unwrap_err().to_string();
    assert!(e.contains("not the kernel the manifest describes"), "{e}");
    other.parts[5].1 = b"kernel k(".to_vec();
    let e = cpu.load(&other).unwrap_err().to_string();
    assert!(e.contains("part `kernel.aop`"), "{e}");
    assert_eq!(cpu.kernel(), Some("threshold_sum"));
    let e = cpu.set_param("t", 70000).unwrap_err().to_string();
    assert!(e.contains("outside its range 0..=65535 (uint16)"), "{e}");
    let frame = Array::new(hissc_aop::DType::U16, vec![32, 32], vec![1; 1024]);
    assert_eq!(
        cpu.run(vec![frame.clone()]).unwrap_err().to_string(),
        "parameter `t` is not set"
    );
    cpu.set_param("t", 0).unwrap();
    assert_eq!(cpu.run(vec![frame]).unwrap()[0].data, vec![1024]);
}

/// The library API: a batch as `.npy` bytes by name, outputs as the `.npy`
/// bytes `hissc run` would write (the interpreter's values, numpy's dtypes).
#[test]
fn npy_batches_in_npy_results_out() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    use hiss_runtime::npy;
    for dir in entries(&conf.join("cases")) {
        let (src, k, mut slot) = loaded(&dir);
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
        let got = hiss_runtime::run_npy(&mut slot, &inputs, &ps)
            .unwrap_or_else(|e| panic!("{}: {e}", src.name));
        // what `hissc run` writes: each output stacked over the frames
        let want = stacked(&k, &per_frame);
        assert_eq!(got.len(), want.len(), "{}", src.name);
        for (o, ((name, bytes), w)) in got.iter().zip(&want).enumerate() {
            let expected_name = if got.len() == 1 {
                "out.npy".to_string()
            } else {
                format!("out{o}.npy")
            };
            assert_eq!(name, &expected_name);
            assert_eq!(bytes, &npy::to_bytes(w), "{} {name}", src.name);
        }
    }
}

/// The outputs `hissc run` writes for a batch: each output stacked over the frames.
fn stacked(k: &hissc_aop::Kernel, per_frame: &[Vec<Array>]) -> Vec<Array> {
    let want: Vec<Vec<Array>> = per_frame
        .iter()
        .map(|a| hissc_aop::interp::run(k, a))
        .collect();
    (0..want[0].len())
        .map(|o| {
            let first = &want[0][o];
            let mut shape = vec![want.len() as u32];
            shape.extend_from_slice(&first.shape);
            let data = want
                .iter()
                .flat_map(|w| w[o].data.iter().copied())
                .collect();
            Array::new(first.dtype, shape, data)
        })
        .collect()
}

/// Runs `streams` (each input's frames with a batch axis) through `slot` from
/// `.npy` bodies (or raw ones), `block` frames at a time (`None`: as the slot
/// asks); gives each output's `.npy` bytes.
fn run_bodies(
    slot: &mut dyn Slot,
    streams: &[(String, Array)],
    params: &[(String, i128)],
    raw: bool,
    block: Option<usize>,
) -> Result<Vec<Vec<u8>>, String> {
    use hiss_runtime::stream::{Batch, Body, Input, NpySink};
    use hiss_runtime::{api, npy};
    for (n, v) in params {
        slot.set_param(n, *v).unwrap();
    }
    let bodies: Vec<(String, Vec<u8>)> = streams
        .iter()
        .map(|(n, a)| {
            let mut b = Vec::new();
            if raw {
                npy::encode(a.dtype, &a.data, &mut b);
            } else {
                b = npy::to_bytes(a);
            }
            (n.clone(), b)
        })
        .collect();
    let inputs = bodies
        .iter()
        .map(|(n, b)| Input {
            name: n.clone(),
            reader: Box::new(&b[..]),
            body: if raw {
                Body::Raw {
                    bytes: b.len() as u64,
                }
            } else {
                Body::Npy
            },
        })
        .collect();
    let mut batch = Batch::open(&slot.interface().unwrap(), inputs).map_err(|e| e.to_string())?;
    batch.set_block(block.unwrap_or_else(|| slot.block_frames(batch.block())));
    let mut sink = NpySink::new(|_| Ok(Vec::new()));
    api::run_batch(slot, &mut batch, &mut sink).map_err(|e| e.to_string())?;
    Ok(sink.into_outputs().into_iter().map(|(_, b)| b).collect())
}

/// Frames read a block at a time, as `.npy` and as raw little-endian bodies, in
/// blocks of 1 and 3 frames: the interpreter's values for every public case.
#[test]
fn batches_stream_in_blocks_from_npy_and_raw_bodies() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    use hiss_runtime::npy;
    for dir in entries(&conf.join("cases")) {
        let (src, k, mut slot) = loaded(&dir);
        let frames = 7;
        let (streams, params, per_frame) = random_batch(&k, &mut Rng::new(7), frames);
        let want: Vec<Vec<u8>> = stacked(&k, &per_frame).iter().map(npy::to_bytes).collect();
        for (raw, block) in [(false, 1), (true, 3), (true, 1000)] {
            let got = run_bodies(&mut slot, &streams, &params, raw, Some(block))
                .unwrap_or_else(|e| panic!("{}: {e}", src.name));
            assert_eq!(got, want, "{} raw {raw} block {block}", src.name);
        }
    }
}

/// What a stream refuses, before or while it reads: each message names the
/// input and what is wrong, and nothing is written for a batch that fails.
#[test]
fn malformed_streams_are_refused_naming_what_is_wrong() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    use hiss_runtime::stream::{Body, Input, NpySink};
    use hiss_runtime::{api, npy};
    let src = source(&conf.join("cases/threshold_sum/kernel.py"));
    let (k, net) = compile(&src, None).unwrap();
    let mut slot = EmulatedSlot::new("ice40-hx8k");
    slot.load(&bundle_of(&src, &k, &net)).unwrap();
    let run = |slot: &mut EmulatedSlot, body: Vec<u8>, raw: bool| -> String {
        let input = Input {
            name: "frame".into(),
            body: if raw {
                Body::Raw {
                    bytes: body.len() as u64,
                }
            } else {
                Body::Npy
            },
            reader: Box::new(std::io::Cursor::new(body)),
        };
        let mut sink = NpySink::new(|_| Ok(Vec::new()));
        api::run_stream(slot, vec![input], &[("t", 5)], &mut sink)
            .unwrap_err()
            .to_string()
    };
    let batch = Array::new(hissc_aop::DType::U16, vec![3, 32, 32], vec![9; 3 * 1024]);
    // a raw body that is not a whole number of frames
    let mut raw = Vec::new();
    npy::encode(batch.dtype, &batch.data, &mut raw);
    raw.pop();
    let e = run(&mut slot, raw, true);
    assert!(
        e.contains("6143 bytes, not a whole number of [32, 32] uint16 frames (2048 bytes each)"),
        "{e}"
    );
    // a .npy cut short in its last frame
    let mut cut = npy::to_bytes(&batch);
    cut.truncate(cut.len() - 100);
    let e = run(&mut slot, cut, false);
    assert!(
        e.contains("`frame` ends before the elements its header promises"),
        "{e}"
    );
    // another dtype, another frame shape
    let u8s = Array::new(hissc_aop::DType::U8, vec![2, 32, 32], vec![1; 2048]);
    let e = run(&mut slot, npy::to_bytes(&u8s), false);
    assert!(
        e.contains("input `frame` has dtype uint8, the kernel expects uint16"),
        "{e}"
    );
    let wide = Array::new(hissc_aop::DType::U16, vec![2, 32, 31], vec![1; 2 * 992]);
    let e = run(&mut slot, npy::to_bytes(&wide), false);
    assert!(e.contains("has shape [2, 32, 31]"), "{e}");
    // not a .npy at all
    let e = run(&mut slot, b"hello".to_vec(), false);
    assert!(e.contains("`frame` is not a valid .npy file"), "{e}");
}

/// A range promise is checked in every block, and the element that breaks it
/// is named by its index in the whole batch.
#[test]
fn range_promises_are_checked_block_by_block() {
    use hiss_runtime::npy;
    use hiss_runtime::stream::{Batch, Body, Input, Interface};
    use hissc_aop::{DType, Interval, Param, Type};
    let p = Param {
        name: "x".into(),
        ty: Type::array(DType::U16, vec![4]),
        range: Interval::new(0, 4095),
        span: Default::default(),
    };
    let iface = Interface {
        kernel: "k".into(),
        params: vec![p],
        values: vec![],
        outputs: vec![hiss_runtime::OutType {
            dtype: DType::U16,
            shape: vec![4],
            vec: false,
        }],
    };
    let mut data = vec![7; 5 * 4];
    data[4 * 3 + 2] = 4096; // frame 3, element 2
    let body = npy::to_bytes(&Array::new(DType::U16, vec![5, 4], data));
    let input = Input {
        name: "x".into(),
        reader: Box::new(&body[..]),
        body: Body::Npy,
    };
    let mut b = Batch::open(&iface, vec![input]).unwrap();
    b.set_block(2);
    assert_eq!(b.next_block().unwrap().unwrap().frames, 2);
    let e = b.next_block().unwrap_err();
    assert_eq!(
        e,
        "input `x` breaks its range promise: element [3, 2] is 4096, outside [0, 4095]"
    );
}

/// The CPU slot lent more cores (`set_threads`): a block's frames are shared
/// among threads for a kernel without states and joined in order, giving the
/// interpreter's values for every public case (a kernel with states runs its
/// frames in order on one thread, whatever it is lent).
#[test]
fn the_cpu_slot_shares_a_blocks_frames_among_threads() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    use hiss_runtime::npy;
    for dir in entries(&conf.join("cases")) {
        let src = source(&dir.join("kernel.py"));
        let (k, net) = compile(&src, None).unwrap();
        let mut slot = CpuSlot::new();
        slot.load(&bundle_of(&src, &k, &net)).unwrap();
        let frames = 11;
        let (streams, params, per_frame) = random_batch(&k, &mut Rng::new(11), frames);
        let want: Vec<Vec<u8>> = stacked(&k, &per_frame).iter().map(npy::to_bytes).collect();
        for threads in [1, 2, 3, 8] {
            slot.set_threads(threads);
            let shared = threads > 1 && k.states.is_empty();
            assert_eq!(slot.block_frames(1), if shared { 2 * threads } else { 1 });
            let got = run_bodies(&mut slot, &streams, &params, false, None)
                .unwrap_or_else(|e| panic!("{} threads {threads}: {e}", src.name));
            assert_eq!(got, want, "{} threads {threads}", src.name);
        }
    }
}
