//! `hissc`: compiles Python kernels to verified hardware.
//!
//! This crate is the only place that prints or exits. Exit status: 0 success,
//! 1 user error (a bad kernel, bad input), 2 internal error or a verification
//! mismatch.

mod build;
mod bundle;
mod driver;
mod vcd;
mod verify;

use clap::{Args, Parser, Subcommand, ValueEnum};
use driver::Failure;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "hissc",
    version,
    about = "Compile Python+numpy detector kernels to verified hardware",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    compile: CompileArgs,
}

/// `hissc KERNEL.py -o OUT.vhd` / `--emit ...`
#[derive(Args, Debug)]
struct CompileArgs {
    /// The kernel file.
    #[arg(required = true)]
    kernel: Option<PathBuf>,
    /// Which `@kernel` function (needed when the file has several).
    #[arg(long = "kernel", value_name = "NAME")]
    name: Option<String>,
    #[command(flatten)]
    reading: Reading,
    /// Write the VHDL design here.
    #[arg(short, long, value_name = "OUT.vhd")]
    output: Option<PathBuf>,
    /// Print an intermediate form instead of (or as well as) writing VHDL.
    #[arg(long, value_enum)]
    emit: Option<Emit>,
    #[command(flatten)]
    lanes: Lanes,
    #[command(flatten)]
    interface: InterfaceArg,
}

/// `--lanes`, one definition for every command that compiles.
#[derive(Args, Clone, Copy, Debug)]
struct Lanes {
    /// Elements per cycle per input stream: 1, 2, 4, 8, 16, 32 or 64 (the
    /// kernel may take fewer, and says why; `run` computes the same values
    /// whatever it is).
    #[arg(long, value_name = "N", env = "HISSC_LANES", default_value_t = 1, value_parser = parse_lanes)]
    lanes: u32,
}

/// How a kernel file is read, for every command that reads one.
#[derive(Args, Clone, Debug)]
struct Reading {
    /// The kernel file's first N lines were put in front of the user's source
    /// by a tool (`hiss.compile` puts imports above a notebook cell's code):
    /// diagnostics, locations and VHDL comments count lines after them.
    #[arg(long, value_name = "N", default_value_t = 0)]
    line_offset: u32,
    /// Leave out an array-op pass (repeatable; `hissc passes` lists them).
    #[arg(long = "skip-pass", value_name = "PASS", value_parser = pass_parser())]
    skip_passes: Vec<String>,
}

/// `--skip-pass`: the names of the pass registry.
fn pass_parser() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(hissc_aop::passes::PASSES.iter().map(|p| p.name))
}

/// `--interface`, one definition for `hissc -o`, `verify` and `build`.
#[derive(Args, Clone, Copy, Debug)]
struct InterfaceArg {
    /// The design's interface: the native one, or wrapped in AXI4-Stream
    /// (`axis`: the design with a clock enable inside the `<kernel>_axis`
    /// wrapper; `verify` checks it under random back-pressure).
    #[arg(long, value_enum, default_value = "native")]
    interface: Interface,
}

/// `--target`: the devices of the device table, parsed by clap (its help
/// and its errors list them).
fn target_parser() -> impl clap::builder::TypedValueParser<Value = hissc_flow::build::Target> {
    use clap::builder::TypedValueParser;
    let names = hissc_flow::build::TARGETS.map(|t| t.name());
    clap::builder::PossibleValuesParser::new(names)
        .map(|s| hissc_flow::build::Target::parse(&s).expect("one of the listed targets"))
}

/// `--lanes N`: a power of two up to [`hissc_spn::lanes::MAX_LANES`].
fn parse_lanes(s: &str) -> Result<u32, String> {
    let max = hissc_spn::lanes::MAX_LANES;
    match s.parse::<u32>() {
        Ok(n) if n.is_power_of_two() && n <= max => Ok(n),
        _ => Err(format!("lanes must be a power of two from 1 to {max}")),
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Emit {
    /// The array-op IR.
    Aop,
    /// The synchronous process network, with widths and schedules.
    Spn,
    /// A picture of the process network (Graphviz dot).
    Dot,
    /// The VHDL design.
    Vhdl,
    /// The trace-replay testbench.
    Testbench,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a kernel on .npy inputs on the CPU (numpy-exact; `--reference`: the reference interpreter).
    Run(RunCmd),
    /// Simulate the process network cycle by cycle.
    Sim(SimArgs),
    /// Check the generated hardware in GHDL against the simulator, cycle by cycle.
    Verify(VerifyArgs),
    /// Build an FPGA bitstream and report what it costs.
    Build(BuildArgs),
    /// Build a kernel and pack it into one checked file for a HISS node.
    Bundle(BundleArgs),
    /// Check a bundle and show what it holds.
    Inspect(InspectArgs),
    /// Run a bundle in the emulated slot, as a node would (its own network, bit-exact).
    Emulate(EmulateArgs),
    /// Serve a HISS node (the same server and arguments as `hiss-node`).
    Node(hiss_node::serve::ServeArgs),
    /// List the array-op passes, in the order they run (`--skip-pass` leaves one out).
    Passes,
    /// List the FPGAs `build` and `bundle` target, with their figures and stages.
    Targets {
        /// As JSON (one object per target).
        #[arg(long)]
        json: bool,
    },
    /// Explain an error code, e.g. `hissc explain HS0101`.
    Explain {
        /// The code.
        code: String,
    },
}

/// The kernel and its inputs, shared by `run`, `sim` and `verify`.
#[derive(Args, Debug)]
struct InputArgs {
    /// The kernel file.
    kernel: PathBuf,
    /// Which `@kernel` function.
    #[arg(long = "kernel", value_name = "NAME")]
    name: Option<String>,
    #[command(flatten)]
    reading: Reading,
    /// An array input: NAME=FILE.npy, or a detector's file: an HDF5 file NAME=FILE.h5[:/DATASET] (frames of /entry/data/data by default; bitshuffle-LZ4, LZ4, deflate, shuffle) or DECTRIS Stream V2 messages NAME=FILE.cbor[:CHANNEL] (repeatable).
    #[arg(long = "in", value_name = "NAME=FILE.npy")]
    inputs: Vec<String>,
    /// A scalar parameter: NAME=INT (repeatable).
    #[arg(long = "param", value_name = "NAME=INT")]
    params: Vec<String>,
    /// The initial value of a `State[...]` parameter: NAME=FILE.npy (repeatable; zeros if not given).
    #[arg(long = "state", value_name = "NAME=FILE.npy")]
    states: Vec<String>,
    #[command(flatten)]
    lanes: Lanes,
}

/// `hissc run`
#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Directory for out.npy (or out0.npy, out1.npy, ...).
    #[arg(long = "out", value_name = "DIR")]
    out: PathBuf,
}

/// `hissc run`
#[derive(Args, Debug)]
struct RunCmd {
    #[command(flatten)]
    run: RunArgs,
    /// Run the reference interpreter (whole arrays of exact integers, written
    /// for obviousness) instead of the kernel compiled for the CPU.
    #[arg(long)]
    reference: bool,
}

/// `hissc sim`
#[derive(Args, Debug)]
struct SimArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Write an SME-style CSV trace (one row per cycle, every top-level signal).
    #[arg(long, value_name = "FILE.csv")]
    trace: Option<PathBuf>,
    /// Write the waveforms (every top-level signal and every bus, named after the
    /// kernel's variables) as a VCD file for GTKWave.
    #[arg(long, value_name = "FILE.vcd")]
    vcd: Option<PathBuf>,
    /// Print the run's figures as one JSON object (cycles, frames, frame
    /// period, latency, elements per cycle of each input) instead of a sentence.
    #[arg(long)]
    json: bool,
}

/// `hissc verify`
#[derive(Args, Debug)]
struct VerifyArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Directory for the outputs; the VHDL, testbench, vectors and GHDL logs go to DIR/verify/.
    #[arg(long = "out", value_name = "DIR")]
    out: Option<PathBuf>,
    /// Check GHDL's synthesized netlist (`ghdl --synth --out=vhdl`) instead of the VHDL source.
    #[arg(long)]
    netlist: bool,
    #[command(flatten)]
    interface: InterfaceArg,
    /// With `--interface axis`: the seed of the producers' pauses and the
    /// consumers' stalls.
    #[arg(long, default_value_t = 1)]
    stall_seed: u64,
    /// With `--interface axis`: the chance, per cycle, that a producer pauses
    /// and that a consumer stalls.
    #[arg(long, default_value_t = 0.3)]
    stall: f64,
}

/// A design's hardware interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Interface {
    /// Valid flags, one element per cycle per lane, frames on consecutive cycles
    /// (docs/hardware-interface.md).
    Native,
    /// AXI4-Stream slaves and masters with back-pressure around the native design.
    Axis,
}

/// The kernel and the device, shared by `build` and `bundle`.
#[derive(Args, Debug)]
struct BuildTarget {
    /// The kernel file.
    kernel: PathBuf,
    /// Which `@kernel` function.
    #[arg(long = "kernel", value_name = "NAME")]
    name: Option<String>,
    #[command(flatten)]
    reading: Reading,
    /// The FPGA.
    #[arg(long, default_value = "ice40-hx8k", value_parser = target_parser())]
    target: hissc_flow::build::Target,
    /// nextpnr's target clock frequency in MHz.
    #[arg(long, default_value_t = 100.0)]
    freq: f64,
    /// nextpnr's placement seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How the build's stages are shown.
    #[arg(long, value_enum, default_value = "auto")]
    progress: Progress,
}

impl BuildTarget {
    /// The device, and the options a build needs for it (written to `dir`).
    fn options(
        &self,
        dir: PathBuf,
        detector: Option<String>,
    ) -> Result<hissc_flow::build::Options, driver::Failure> {
        let target = self.target;
        if !(self.freq > 0.0 && self.freq < 1000.0) {
            return Err(driver::Failure::User(format!(
                "--freq {} is not a clock frequency in MHz",
                self.freq
            )));
        }
        Ok(hissc_flow::build::Options {
            target,
            freq_mhz: self.freq,
            seed: self.seed,
            dir,
            detector,
            axis: false,
        })
    }
}

/// `hissc build`
#[derive(Args, Debug)]
struct BuildArgs {
    #[command(flatten)]
    build: BuildTarget,
    #[command(flatten)]
    lanes: Lanes,
    /// Choose the lanes for this throughput (e.g. `40Gbps`, `2.5Gbit/s`, `800Mbps`) and
    /// prove it from post-route timing, or fail with the best rate reached.
    #[arg(long, value_name = "RATE", conflicts_with = "lanes")]
    line_rate: Option<String>,
    /// The input stream that carries the detector's pixels, whose rate is the
    /// throughput (default: the kernel's first array parameter).
    #[arg(long, value_name = "NAME")]
    detector: Option<String>,
    /// Output directory (default: build/<kernel>).
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,
    #[command(flatten)]
    interface: InterfaceArg,
}

/// How `build` and `bundle` show their stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// A spinner on a terminal, otherwise one `build: ...` line per stage.
    Auto,
    /// One JSON object per stage on stderr (`{"event": "stage", "stage":
    /// "yosys", "index": 3, "stages": 7, ...}`); the stages of each target
    /// are listed by `hissc targets --json`.
    Json,
}

/// `hissc bundle`
#[derive(Args, Debug)]
struct BundleArgs {
    #[command(flatten)]
    build: BuildTarget,
    #[command(flatten)]
    lanes: Lanes,
    /// The bundle to write (`KERNEL.hbx`).
    #[arg(short, long, value_name = "FILE.hbx")]
    output: PathBuf,
}

/// `hissc inspect`
#[derive(Args, Debug)]
struct InspectArgs {
    /// The bundle.
    bundle: PathBuf,
    /// The manifest and the parts as JSON.
    #[arg(long)]
    json: bool,
}

/// `hissc emulate`
#[derive(Args, Debug)]
struct EmulateArgs {
    /// The bundle.
    bundle: PathBuf,
    /// An input stream: NAME=FILE.npy (repeatable), one frame or a batch.
    #[arg(long = "in", value_name = "NAME=FILE.npy")]
    inputs: Vec<String>,
    /// A scalar parameter: NAME=INT (repeatable).
    #[arg(long = "param", value_name = "NAME=INT")]
    params: Vec<String>,
    /// The initial value of a state: NAME=FILE.npy (repeatable; zeros if not given).
    #[arg(long = "state", value_name = "NAME=FILE.npy")]
    states: Vec<String>,
    /// Directory for out.npy (or out0.npy, out1.npy, ...).
    #[arg(long = "out", value_name = "DIR")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` print and succeed; a usage error is the
        // user's, exit 1 (2 is for internal errors and mismatches).
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Some(Command::Run(a)) => cmd_run(&a),
        Some(Command::Sim(a)) => cmd_sim(&a),
        Some(Command::Verify(a)) => verify::cmd_verify(&a),
        Some(Command::Build(a)) => build::cmd_build(&a),
        Some(Command::Bundle(a)) => bundle::cmd_bundle(&a),
        Some(Command::Inspect(a)) => bundle::cmd_inspect(&a),
        Some(Command::Emulate(a)) => bundle::cmd_emulate(&a),
        Some(Command::Node(a)) => return hiss_node::serve::main(a),
        Some(Command::Passes) => {
            for p in hissc_aop::passes::PASSES {
                println!("{:<18} {}", p.name, p.about);
            }
            Ok(())
        }
        Some(Command::Targets { json }) => {
            cmd_targets(json);
            Ok(())
        }
        Some(Command::Explain { code }) => cmd_explain(&code),
        None => cmd_compile(&cli.compile),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprint!("{}", f.message());
            ExitCode::from(f.exit_code())
        }
    }
}

/// The VHDL `hissc -o` writes: the design, or with `--interface axis` the
/// design with its clock enable followed by the AXI4-Stream wrapper.
fn design_text(c: &driver::Compiled, a: &CompileArgs) -> Result<String, Failure> {
    let net = c.network(a.lanes.lanes)?;
    Ok(match a.interface.interface {
        Interface::Native => hissc_vhdl::emit(&net, &c.src).design,
        Interface::Axis => hissc_vhdl::emit_axis(&net, &c.src).text(),
    })
}

fn cmd_compile(a: &CompileArgs) -> Result<(), Failure> {
    let path = a
        .kernel
        .as_ref()
        .ok_or_else(|| Failure::User("no kernel file given".into()))?;
    let c = driver::Compiled::load(path, a.name.as_deref(), &a.reading)?;
    match a.emit {
        Some(Emit::Aop) => print!("{}", hissc_aop::print::print(&c.kernel, Some(&c.src))),
        Some(Emit::Spn) => print!(
            "{}",
            hissc_spn::print::print(&c.network(a.lanes.lanes)?, Some(&c.src))
        ),
        Some(Emit::Dot) => print!("{}", hissc_spn::dot::to_dot(&c.network(a.lanes.lanes)?)),
        Some(Emit::Vhdl) => print!("{}", design_text(&c, a)?),
        Some(Emit::Testbench) => print!(
            "{}",
            hissc_vhdl::tb::testbench(&hissc_vhdl::emit(&c.network(a.lanes.lanes)?, &c.src).iface)
        ),
        None => {}
    }
    if let Some(out) = &a.output {
        std::fs::write(out, design_text(&c, a)?)
            .map_err(|e| Failure::User(format!("cannot write `{}`: {e}", out.display())))?;
    }
    if a.output.is_none() && a.emit.is_none() {
        return Err(Failure::User(
            "nothing to do: give `-o OUT.vhd` or `--emit FORM`".into(),
        ));
    }
    Ok(())
}

fn cmd_run(cmd: &RunCmd) -> Result<(), Failure> {
    let a = &cmd.run;
    let c = driver::Compiled::load(&a.input.kernel, a.input.name.as_deref(), &a.input.reading)?;
    c.warn_hardware();
    // frames stream from the files through the interpreter into the outputs
    let states = driver::read_states(&c.kernel, &a.input.states)?;
    let inputs = driver::open_inputs(&a.input.inputs)?;
    let values = driver::parse_params(&a.input.params)?;
    let mut sink = driver::OutputFiles::create(&a.out)?;
    let engine = if cmd.reference {
        hissc_driver::run::Engine::Reference
    } else {
        hissc_driver::run::Engine::Cpu
    };
    let finals = hissc_driver::run::run(&c.kernel, engine, inputs, values, states, &mut sink)
        .map_err(|e| driver::run_failure(e, "bug in hissc"))?;
    sink.commit()?;
    driver::write_states(&a.out, &c.kernel, &finals)
}

fn cmd_sim(a: &SimArgs) -> Result<(), Failure> {
    let c = driver::Compiled::load(
        &a.run.input.kernel,
        a.run.input.name.as_deref(),
        &a.run.input.reading,
    )?;
    let net = c.network(a.run.input.lanes.lanes)?;
    // frames stream from the files through the simulator into the outputs, a
    // block at a time
    let states = driver::read_states(&c.kernel, &a.run.input.states)?;
    let inputs = driver::open_inputs(&a.run.input.inputs)?;
    let values = driver::parse_params(&a.run.input.params)?;
    let record = hissc_driver::run::Record {
        trace: a.trace.is_some() || a.vcd.is_some(),
        buses: a.vcd.is_some(),
    };
    let mut sink = driver::OutputFiles::create(&a.run.out)?;
    let (run, frames) =
        hissc_driver::run::simulate(&c.kernel, &net, inputs, values, &states, record, &mut sink)
            .map_err(|e| driver::run_failure(e, "bug in hissc: the simulation did not complete"))?;
    sink.commit()?;
    let finals: Vec<Vec<i128>> = run.states.iter().map(|s| s.data.clone()).collect();
    driver::write_states(&a.run.out, &c.kernel, &finals)?;
    if let (Some(path), Some(rows)) = (&a.trace, &run.trace) {
        driver::write_trace_csv(path, &net, rows)?;
    }
    if let (Some(path), Some(rows)) = (&a.vcd, &run.trace) {
        vcd::write(
            path,
            &net,
            &c.src,
            rows,
            run.buses.as_deref().unwrap_or(&[]),
        )?;
    }
    if a.json {
        let epc: serde_json::Map<String, serde_json::Value> = net
            .inputs
            .iter()
            .zip(&run.elements_per_cycle)
            .map(|(p, e)| (p.name.clone(), (*e).into()))
            .collect();
        let v = serde_json::json!({
            "cycles": run.cycles,
            "frames": frames,
            "frame_period": net.frame_period(),
            "latency": run.latency,
            "elements_per_cycle": epc,
        });
        println!("{v}");
        return Ok(());
    }
    let epc: Vec<String> = net
        .inputs
        .iter()
        .zip(&run.elements_per_cycle)
        .map(|(p, e)| format!("{} {e:.2}", p.name))
        .collect();
    println!(
        "simulated {} cycles: {} frame{} of {} cycles, the last output {} cycles after a frame starts; elements per cycle: {}",
        run.cycles,
        frames,
        if frames == 1 { "" } else { "s" },
        net.frame_period(),
        run.latency,
        if epc.is_empty() {
            "-".to_string()
        } else {
            epc.join(", ")
        }
    );
    Ok(())
}

/// `hissc targets`: the device table, as a table or as JSON.
fn cmd_targets(json: bool) {
    let targets = hissc_flow::build::TARGETS.map(|t| {
        let d = t.device();
        serde_json::json!({
            "name": d.name,
            "family": d.family.name(),
            "part": d.part,
            "package": d.package,
            "logic_cells": d.logic_cells,
            "block_rams": d.block_rams,
            "dsps": d.dsps,
            "io_pins": d.io_pins,
            "tools": d.family.tools(),
            "stages": d.family.stages(),
        })
    });
    if json {
        println!("{}", serde_json::Value::from(targets.to_vec()));
        return;
    }
    println!(
        "{:<12} {:<7} {:<9} {:>11} {:>10} {:>5} {:>8}",
        "target", "family", "package", "logic cells", "block RAMs", "DSPs", "I/O pins"
    );
    for t in hissc_flow::build::TARGETS {
        let d = t.device();
        println!(
            "{:<12} {:<7} {:<9} {:>11} {:>10} {:>5} {:>8}",
            d.name,
            d.family.name(),
            d.package,
            d.logic_cells,
            d.block_rams,
            d.dsps,
            d.io_pins
        );
    }
}

fn cmd_explain(code: &str) -> Result<(), Failure> {
    let c = hissc_diagnostics::Code::parse(code).ok_or_else(|| {
        Failure::User(format!(
            "`{code}` is not a hissc error code (they look like HS0101)"
        ))
    })?;
    println!("{}: {}\n\n{}", c.name(), c.title(), c.explanation());
    if c == hissc_diagnostics::Code::UNKNOWN_FUNCTION {
        // the lists come from the frontend's table, so they are never stale
        let (functions, methods) = hissc_frontend::callable_names();
        let np: Vec<String> = functions.iter().map(|f| format!("np.{f}")).collect();
        let m: Vec<String> = methods.iter().map(|f| format!(".{f}()")).collect();
        println!(
            "\nnumpy functions: {}\narray methods: {}",
            np.join(" "),
            m.join(" ")
        );
    }
    Ok(())
}
