//! Shared helpers of the hissc test suite: finding the conformance kernels,
//! compiling through every stage, running the engines side by side, and the
//! random kernel generator ([`gen`]).

pub mod gen;

use hissc_aop::{Array, Kernel};
use hissc_diagnostics::SourceFile;
use hissc_spn::Network;
use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `../shared/conformance` beside the project. CI always has it (there, a
/// missing suite fails the test); a clone without it gets `None` and a loud
/// line, and the test that needs it skips.
pub fn conformance() -> Option<PathBuf> {
    let p = root().join("../shared/conformance");
    if p.is_dir() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the conformance suite is missing in CI: expected it at {}",
        p.display()
    );
    eprintln!(
        "\n!!!!!!!! SKIPPED: the conformance suite is not beside this clone (expected at {}); the tests that read it were NOT run !!!!!!!!\n",
        p.display()
    );
    None
}

/// Sorted entries of a directory.
pub fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable directory")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v
}

/// A source file named by its last two path components (stable in snapshots).
pub fn source(path: &Path) -> SourceFile {
    let text = std::fs::read_to_string(path).expect("readable kernel");
    let name: Vec<String> = path
        .iter()
        .rev()
        .take(2)
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    SourceFile::new(format!("{}/{}", name[1], name[0]), text)
}

/// Frontend, verifier and lowering; a rendered diagnostic on failure.
pub fn compile(src: &SourceFile, kernel: Option<&str>) -> Result<(Kernel, Network), String> {
    compile_lanes(src, kernel, 1)
}

/// [`compile`], widened to `lanes` elements per cycle (or to as many as the kernel
/// takes, as `hissc --lanes` does: [`compile_lanes_why`] says why).
pub fn compile_lanes(
    src: &SourceFile,
    kernel: Option<&str>,
    lanes: u32,
) -> Result<(Kernel, Network), String> {
    compile_lanes_why(src, kernel, lanes).map(|(k, n, _)| (k, n))
}

/// [`compile_lanes`], with the rendered warnings that say why the network has
/// fewer lanes than asked (empty when it has them all).
pub fn compile_lanes_why(
    src: &SourceFile,
    kernel: Option<&str>,
    lanes: u32,
) -> Result<(Kernel, Network, String), String> {
    let opts = hissc_driver::Options {
        kernel: kernel.map(str::to_string),
        lanes,
        ..Default::default()
    };
    let d = hissc_driver::compile(src, &opts).map_err(|d| hissc_diagnostics::render(src, &d))?;
    let (k, net) = (d.kernel, d.network);
    let why = if d.warnings.is_empty() {
        String::new()
    } else {
        hissc_diagnostics::render(src, &d.warnings)
    };
    Ok((k, net, why))
}

/// One frame of random arguments for `k` (each parameter's whole range).
pub fn random_frame(rng: &mut gen::Rng, k: &Kernel) -> Vec<Array> {
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

/// Is GHDL installed? Prints a loud line when it is not.
pub fn ghdl_or_skip(test: &str) -> bool {
    if hissc_flow::ghdl::available() {
        true
    } else {
        eprintln!("\n!!!!!!!! SKIPPED {test}: GHDL is not installed (apt-get install ghdl); the hardware was NOT checked !!!!!!!!\n");
        false
    }
}

/// Runs frames through the interpreter and the simulator and compares them;
/// with `hardware`, also replays the simulator's trace in GHDL (with `netlist`,
/// GHDL's synthesized netlist) — all through [`hissc_driver::verify`], as
/// `hissc verify` does. The CPU slot must give the same outputs and final
/// states, and the frames pushed into the simulator in blocks the same
/// cycles, outputs and trace. The states start from zeros.
pub fn agree(
    src: &SourceFile,
    k: &Kernel,
    net: &Network,
    frames: &[Vec<Array>],
    hardware: bool,
    netlist: bool,
) -> Result<(), String> {
    use hissc_driver::verify::{verify, Check, Hardware};
    let bound = hissc_aop::Bound::stacked(&k.params, frames);
    let zeros = hissc_aop::interp::zero_states(k);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let check = Check {
        src,
        kernel: k,
        network: net,
        inputs: &bound,
        states: &zeros,
        hardware: if hardware {
            Hardware::Native
        } else {
            Hardware::None
        },
        netlist,
        dir: dir.path(),
    };
    let sim = verify(&check)
        .map_err(|f| {
            let kept = dir.keep();
            format!("{} (files kept in {})", f.message(src), kept.display())
        })?
        .simulation;
    // the CPU slot: the same outputs (values, dtypes, shapes) and final states
    let program = hissc_cpu::Program::new(k);
    let mut run = program.start(None);
    let cpu = run.batch(&bound);
    if cpu != sim.frames {
        let at = cpu.iter().zip(&sim.frames).position(|(a, b)| a != b);
        return Err(format!(
            "the CPU slot's outputs differ from the interpreter's and the simulator's (frame {at:?})"
        ));
    }
    if run.states() != sim.states {
        return Err(
            "the CPU slot's final states differ from the interpreter's and the simulator's".into(),
        );
    }
    // the same frames pushed as they come, in blocks of 1, 2, 3, ... frames:
    // the same cycles, outputs and trace as the batch
    let chunked = stream_in_blocks(net, k, frames, hardware)?;
    if chunked.frames != sim.frames || chunked.cycles != sim.cycles || chunked.trace != sim.trace {
        return Err(format!(
            "frames pushed in blocks differ from the batch: {} cycles against {}, outputs equal: {}, traces equal: {}",
            chunked.cycles,
            sim.cycles,
            chunked.frames == sim.frames,
            chunked.trace == sim.trace
        ));
    }
    Ok(())
}

/// Simulates frames given as call arguments (as [`hissc_sim::simulate_args`]
/// takes them) through a [`hissc_sim::Streamer`], pushing them in blocks of 1,
/// 2, 3, ... frames.
pub fn stream_in_blocks(
    net: &Network,
    k: &Kernel,
    frames: &[Vec<Array>],
    trace: bool,
) -> Result<hissc_sim::SimResult, String> {
    let first = frames.first().ok_or("no frames to simulate")?;
    let scalars = hissc_sim::run::scalar_args(k, first);
    let streams = k.params.iter().filter(|p| p.is_stream()).count();
    let mut s = hissc_sim::Streamer::new(net, &scalars, vec![None; streams], trace)?;
    let mut out = Vec::new();
    let (mut at, mut block) = (0, 1);
    while at < frames.len() {
        let part = &frames[at..(at + block).min(frames.len())];
        let data: Vec<Vec<i128>> = (0..k.params.len())
            .filter(|&i| k.params[i].is_stream())
            .map(|i| {
                part.iter()
                    .flat_map(|f| f[i].data.iter().copied())
                    .collect()
            })
            .collect();
        let data: Vec<&[i128]> = data.iter().map(|d| &d[..]).collect();
        out.extend(s.push(part.len(), &data)?);
        at += part.len();
        block += 1;
    }
    let mut r = s.finish()?;
    out.append(&mut r.frames);
    r.frames = out;
    Ok(r)
}
