//! `hissc build`: VHDL → `ghdl --synth` → yosys `synth_ice40` → `nextpnr-ice40` →
//! `icepack`, then `icetime` (iCE40), or yosys `synth_ecp5` → `nextpnr-ecp5` →
//! `ecppack` (ECP5), and a report of what the design costs.
//!
//! Every number in the report says where it came from: resources and the
//! post-route Fmax from nextpnr's JSON report, on iCE40 a second Fmax from
//! icetime (the lower of the two is used for throughput), elements per cycle and latency from
//! the process network's schedules, and the critical path mapped back to Python
//! lines through the bus names (`b12`) that the VHDL keeps.

pub use crate::device::{Device, Family, FamilyRow, Stage, Target, TARGETS, TOOLS};
use crate::tools::{self, ToolError};
use hissc_diagnostics::SourceFile;
use hissc_spn::Network;
use hissc_vhdl::host;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What to build.
pub struct Options {
    /// The FPGA.
    pub target: Target,
    /// nextpnr's target frequency in MHz.
    pub freq_mhz: f64,
    /// nextpnr's placement seed.
    pub seed: u64,
    /// Output directory.
    pub dir: PathBuf,
    /// The input stream that carries the detector's pixels (the kernel's first
    /// array parameter when `None`): its rate is the build's throughput.
    pub detector: Option<String>,
    /// Build the AXI4-Stream wrapper (`<kernel>_axis`) as the top level.
    pub axis: bool,
}

/// A number and where it came from.
#[derive(Serialize, Debug, Clone)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Which tool or analysis gave it.
    pub source: String,
}

fn sourced<T>(value: T, source: &str) -> Sourced<T> {
    Sourced {
        value,
        source: source.to_string(),
    }
}

/// Used and available units of one resource.
#[derive(Serialize, Debug, Clone)]
pub struct Usage {
    /// Used by the design.
    pub used: u64,
    /// On the device.
    pub available: u64,
}

/// Resources the routed design uses.
#[derive(Serialize, Debug, Clone)]
pub struct Resources {
    /// iCE40 ICESTORM_LC (a LUT4 with its flip-flop and carry); ECP5 TRELLIS_COMB (a LUT4).
    pub logic_cells: Usage,
    /// iCE40 ICESTORM_RAM (SB_RAM40_4K, 4 kbit); ECP5 DP16KD (18 kbit).
    pub block_rams: Usage,
    /// iCE40 ICESTORM_DSP (SB_MAC16; none on the HX8K); ECP5 MULT18X18D.
    pub dsps: Usage,
    /// SB_IO / TRELLIS_IO, of the package's user I/O pins.
    pub ios: Usage,
    /// Where these came from.
    pub source: String,
}

/// The slowest register-to-register path.
#[derive(Serialize, Debug, Clone)]
pub struct CriticalPath {
    /// The nets along it, as nextpnr names them.
    pub nets: Vec<String>,
    /// The Python lines of the buses on it (`kernel.py:8: ...`).
    pub python: Vec<String>,
    /// Where it came from.
    pub source: String,
}

/// The build report (`DIR/report.json`).
#[derive(Serialize, Debug, Clone)]
pub struct Report {
    /// The kernel.
    pub kernel: String,
    /// `ice40-hx8k`.
    pub target: String,
    /// The package.
    pub package: String,
    /// The top-level entity (the kernel's, or a narrow wrapper's).
    pub top: String,
    /// Why there is a wrapper, if there is one.
    pub wrapper: Option<String>,
    /// nextpnr's seed.
    pub seed: u64,
    /// nextpnr's target frequency.
    pub freq_target_mhz: f64,
    /// Resources, as place and route used them.
    pub resources: Resources,
    /// What hissc estimated before synthesis.
    pub estimate: crate::estimate::Fit,
    /// Post-route Fmax from nextpnr.
    pub fmax_nextpnr_mhz: Sourced<f64>,
    /// Fmax from icetime's timing analysis (iCE40; `None` on ECP5, which has
    /// no second timing analyser: nextpnr's figure stands alone).
    pub fmax_icetime_mhz: Option<Sourced<f64>>,
    /// The lower of the two: what throughput is computed from.
    pub fmax_mhz: f64,
    /// The critical path.
    pub critical_path: CriticalPath,
    /// Elements per cycle of each input stream.
    pub elements_per_cycle: Sourced<Vec<(String, f64)>>,
    /// Bits per element of each input stream.
    pub element_bits: Vec<(String, u32)>,
    /// Cycles from a frame's start to its last output.
    pub latency_cycles: Sourced<u32>,
    /// Every input stream's data rate at Fmax.
    pub streams: Vec<StreamRate>,
    /// The stream that carries the detector's pixels.
    pub detector_stream: String,
    /// The detector stream's rate in Gbit/s: what the kernel keeps up with.
    pub throughput_gbps: Sourced<f64>,
    /// All input streams together, in Gbit/s (calibration streams included).
    pub input_gbps: f64,
    /// Latches yosys found (the build fails if any).
    pub latches: u32,
    /// The bitstream.
    pub bitstream: String,
    /// Versions of the tools used.
    pub tools: Vec<(String, String)>,
    /// Elements per cycle of the widest input stream (`--lanes`).
    pub lanes: u32,
    /// The `--line-rate` contract, when one was asked for.
    pub line_rate: Option<LineRate>,
}

/// One input stream's rate: a frame's elements every frame period, at Fmax.
#[derive(Serialize, Debug, Clone)]
pub struct StreamRate {
    /// The Python parameter.
    pub name: String,
    /// Elements per frame.
    pub elements_per_frame: u64,
    /// Elements per valid cycle (its lanes).
    pub lanes: u32,
    /// Bits per element on the port.
    pub bits: u32,
    /// elements/frame × bits × Fmax / cycles per frame, in Gbit/s.
    pub gbps: f64,
}

/// The stream rates of `net` at `fmax_mhz`, each a frame's bits once per frame period.
pub fn stream_rates(net: &Network, bits: &[u32], fmax_mhz: f64) -> Vec<StreamRate> {
    let period = net.frame_period().max(1) as f64;
    net.inputs
        .iter()
        .zip(bits)
        .map(|(p, &b)| {
            let n: u64 = p.shape.iter().map(|&d| d as u64).product();
            StreamRate {
                name: p.name.clone(),
                elements_per_frame: n,
                lanes: p.lanes,
                bits: b,
                gbps: n as f64 * b as f64 * fmax_mhz / period / 1000.0,
            }
        })
        .collect()
}

/// The outcome of `hissc build --line-rate`.
#[derive(Clone, Debug, Serialize)]
pub struct LineRate {
    /// The rate asked for, in Gbit/s.
    pub required_gbps: f64,
    /// Whether this build reaches it.
    pub met: bool,
    /// Every build tried: (lanes, Gbit/s reached, or why it did not build).
    pub tried: Vec<(u32, Result<f64, String>)>,
    /// What limits the rate, when it is not met.
    pub limit: Option<String>,
}

impl Report {
    /// Writes `DIR/report.json`.
    pub fn write(&self, dir: &Path) -> Result<(), BuildError> {
        let path = dir.join("report.json");
        let text =
            serde_json::to_string_pretty(self).map_err(|e| BuildError::Other(e.to_string()))?;
        io(std::fs::write(&path, text), &path)
    }
}

/// Why a build failed.
#[derive(Debug)]
pub enum BuildError {
    /// A tool is missing or failed.
    Tool(ToolError),
    /// The design needs more of the device than it has: each kind of cell that
    /// ran out, as `(nextpnr's cell type, used, available)`.
    DoesNotFit(Target, Vec<(String, u32, u32)>),
    /// hissc's estimate shows, before synthesis, that the design cannot fit: why.
    TooLarge(Target, String),
    /// Every cell type is within the device, but nextpnr found no legal
    /// placement ("at utilisation limit"): its fullest cell type, as
    /// `(cell type, used, available)`.
    AtLimit(Target, (String, u32, u32)),
    /// Something else (I/O, pins, latches), in one sentence.
    Other(String),
}

impl From<ToolError> for BuildError {
    fn from(e: ToolError) -> Self {
        BuildError::Tool(e)
    }
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Tool(t) => t.fmt(f),
            BuildError::TooLarge(t, why) => write!(
                f,
                "the design does not fit the {}: {why} (found before synthesis; use fewer lanes, or a smaller kernel)",
                t.name()
            ),
            BuildError::DoesNotFit(t, over) => {
                let cells: Vec<String> = over
                    .iter()
                    .map(|(c, used, avail)| {
                        let what = match c.as_str() {
                            "ICESTORM_RAM" | "DP16KD" => " block RAMs",
                            "ICESTORM_LC" | "TRELLIS_COMB" => " logic cells",
                            "SB_IO" | "TRELLIS_IO" => " I/O pins",
                            "ICESTORM_DSP" | "MULT18X18D" => " DSP blocks",
                            _ => "",
                        };
                        format!("{used} of {avail}{what} ({c})")
                    })
                    .collect();
                write!(
                    f,
                    "the design does not fit the {}: it needs {} (use fewer lanes, or a smaller kernel)",
                    t.name(),
                    cells.join(", ")
                )
            }
            BuildError::AtLimit(t, (c, used, avail)) => write!(
                f,
                "the design does not fit the {}: nextpnr can place no legal design with {used} of {avail} {c} cells in use (use fewer lanes, or a smaller kernel)",
                t.name()
            ),
            BuildError::Other(s) => f.write_str(s),
        }
    }
}

/// The cells nextpnr's utilisation table (`Info:  ICESTORM_RAM:  192/  32  600%`)
/// shows over capacity, if any.
fn over_capacity(log: &Path, target: Target) -> Option<BuildError> {
    let text = std::fs::read_to_string(log).ok()?;
    let over = cells_over(&text);
    if !over.is_empty() {
        return Some(BuildError::DoesNotFit(target, over));
    }
    if !text.contains("Unable to find legal placement") {
        return None;
    }
    // within the device, but too full to place: name the fullest cell type
    let fullest = cells_used(&text)
        .into_iter()
        .max_by_key(|(_, used, avail)| (*used as u64 * 1000) / (*avail as u64).max(1))?;
    Some(BuildError::AtLimit(target, fullest))
}

/// `(cell type, used, available)` for each line of a nextpnr utilisation table
/// that uses more than the device has.
fn cells_over(text: &str) -> Vec<(String, u32, u32)> {
    cells_used(text)
        .into_iter()
        .filter(|(_, used, avail)| used > avail)
        .collect()
}

/// `(cell type, used, available)` for each line of a nextpnr utilisation table.
fn cells_used(text: &str) -> Vec<(String, u32, u32)> {
    text.lines()
        .filter_map(|l| {
            let (cell, rest) = l.strip_prefix("Info:")?.trim().split_once(':')?;
            let (used, rest) = rest.split_once('/')?;
            let avail = rest.split_whitespace().next()?;
            let (used, avail) = (used.trim().parse().ok()?, avail.parse().ok()?);
            (!cell.contains(' ')).then(|| (cell.to_string(), used, avail))
        })
        .collect()
}

fn io<T>(r: std::io::Result<T>, what: &Path) -> Result<T, BuildError> {
    r.map_err(|e| BuildError::Other(format!("cannot write `{}`: {e}", what.display())))
}

/// Builds a bitstream; `progress` is told each stage as it starts, with what
/// runs in it (`yosys synth_ecp5`).
pub fn build(
    net: &Network,
    src: &SourceFile,
    o: &Options,
    progress: &mut dyn FnMut(Stage, &str),
) -> Result<Report, BuildError> {
    progress(Stage::Estimate, "estimating resources");
    let estimate = crate::estimate::fit(net, src, o.target);
    if let Some(why) = estimate.too_large(o.target) {
        let why = format!("{why}; the most for {}", estimate.heaviest);
        return Err(BuildError::TooLarge(o.target, why));
    }
    for &t in o.target.family().tools() {
        if !tools::available(t) {
            return Err(ToolError::Missing {
                tool: t.to_string(),
                package: tools::package_of(t),
            }
            .into());
        }
    }
    let dir = &o.dir;
    let logs = dir.join("logs");
    let work = dir.join("work");
    io(std::fs::create_dir_all(&logs), &logs)?;
    io(std::fs::create_dir_all(&work), &work)?;
    progress(Stage::Vhdl, "writing VHDL");
    let (v, axis) = if o.axis {
        let a = hissc_vhdl::emit_axis(net, src);
        (a.vhdl, Some(a.wrapper))
    } else {
        (hissc_vhdl::emit(net, src), None)
    };
    let e = v.iface.entity.clone();
    let design = dir.join(format!("{e}.vhd"));
    io(std::fs::write(&design, &v.design), &design)?;
    let mut files = vec![format!("{e}.vhd")];
    let need = host::pins(&v.iface);
    let (top, wrapped) = if let Some(axis) = axis {
        // no narrow host interface stands in for the AXI4-Stream ports
        let top = format!("{e}_axis");
        let pins = hissc_vhdl::axis::pins(&v.iface);
        if pins > o.target.io_pins() {
            return Err(BuildError::Other(format!(
                "the AXI4-Stream design needs {pins} pins and the {} package has {}: build it inside the design that feeds it, or for a larger package (the native interface gets a narrow host interface instead)",
                o.target.package(),
                o.target.io_pins()
            )));
        }
        let path = dir.join(format!("{top}.vhd"));
        io(std::fs::write(&path, &axis), &path)?;
        files.push(format!("{top}.vhd"));
        (top, None)
    } else if need > o.target.io_pins() {
        let retime = o.target.family().row().retime_wrapper;
        let w = host::wrap(&v.iface, o.target.io_pins(), retime).map_err(BuildError::Other)?;
        let path = dir.join(format!("{}.vhd", w.top));
        io(std::fs::write(&path, &w.vhdl), &path)?;
        files.push(format!("{}.vhd", w.top));
        let why = format!(
            "the kernel's ports need {need} pins and the {} package has {}: a narrow host interface ({} pins) wraps it",
            o.target.package(),
            o.target.io_pins(),
            w.pins
        );
        (w.top, Some(why))
    } else {
        (e.clone(), None)
    };
    progress(Stage::Ghdl, "ghdl --synth");
    let mut analyse = vec!["-a", "--std=08", "--workdir=work"];
    analyse.extend(files.iter().map(|s| s.as_str()));
    tools::run(dir, "ghdl", &analyse, &logs.join("ghdl-analyse.log"))?;
    let verilog = tools::run(
        dir,
        "ghdl",
        &[
            "--synth",
            "--std=08",
            "--workdir=work",
            "--out=verilog",
            &top,
        ],
        &logs.join("ghdl-synth.log"),
    )?;
    let vpath = dir.join(format!("{top}.v"));
    let verilog = crate::verilog::sized_literals(&verilog);
    io(std::fs::write(&vpath, verilog), &vpath)?;
    let family = o.target.family();
    let synth = if o.target.device().dsps > 0 {
        family.row().synth.1
    } else {
        family.row().synth.0
    };
    progress(Stage::Yosys, &format!("yosys {synth}"));
    let script = format!(
        "read_verilog {top}.v; hierarchy -top {top}; proc; tee -o logs/latches.txt select -list t:$dlatch t:$adlatch t:$dlatchsr; {synth} -top {top} -json {top}.json"
    );
    tools::run(
        dir,
        "yosys",
        &["-q", "-p", &script],
        &logs.join("yosys.log"),
    )?;
    let latches = std::fs::read_to_string(logs.join("latches.txt")).unwrap_or_default();
    let latch_count = latches.lines().filter(|l| !l.trim().is_empty()).count() as u32;
    if latch_count > 0 {
        return Err(BuildError::Other(format!(
            "yosys inferred {latch_count} latches (a bug in hissc's VHDL): {}",
            latches.trim()
        )));
    }
    let bin = format!("{}.{}", net.name, family.row().bitstream);
    let placed = place_and_route(dir, &top, &bin, o, progress)?;
    let rep = placed.report;
    let pnr = family.pnr();
    // Register-to-register Fmax; a design whose only paths touch its ports (a ROM
    // between input and output registers in block RAM) is timed by its slowest
    // port path instead.
    let clocked = rep["fmax"].as_object().and_then(|m| {
        m.values()
            .filter_map(|c| c["achieved"].as_f64())
            .reduce(f64::min)
    });
    let (nextpnr_mhz, nextpnr_source) = match clocked {
        Some(f) => (f, format!("{pnr} post-route timing analysis")),
        None => {
            let worst = rep["critical_paths"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            p["path"].as_array().map_or(0.0, |st| {
                                st.iter().filter_map(|s| s["delay"].as_f64()).sum::<f64>()
                            })
                        })
                        .fold(0.0, f64::max)
                })
                .unwrap_or(0.0);
            if worst <= 0.0 {
                return Err(BuildError::Other(
                    "nextpnr's report has no timed path (see logs/nextpnr.log)".into(),
                ));
            }
            (
                1000.0 / worst,
                format!("{pnr} post-route: slowest port path (no register-to-register path)"),
            )
        }
    };
    let usage = |k: &str| Usage {
        used: rep["utilization"][k]["used"].as_u64().unwrap_or(0),
        available: rep["utilization"][k]["available"].as_u64().unwrap_or(0),
    };
    let nets: Vec<String> = rep["critical_paths"]
        .as_array()
        .and_then(|paths| {
            let reg = |p: &&serde_json::Value| {
                p["from"].as_str().is_some_and(|f| f.starts_with("posedge"))
                    && p["to"].as_str().is_some_and(|t| t.starts_with("posedge"))
            };
            paths.iter().find(reg).or_else(|| paths.first())
        })
        .and_then(|p| p["path"].as_array())
        .map(|steps| {
            steps
                .iter()
                .filter_map(|s| s["net"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let python = python_lines(net, src, &nets);
    let fmax = placed
        .icetime_mhz
        .map_or(nextpnr_mhz, |it| nextpnr_mhz.min(it));
    let epc: Vec<(String, f64)> = net
        .inputs
        .iter()
        .map(|p| (p.name.clone(), p.lanes as f64))
        .collect();
    let bits: Vec<(String, u32)> = v
        .iface
        .inputs
        .iter()
        .map(|p| (p.py.clone(), p.width))
        .collect();
    let widths: Vec<u32> = bits.iter().map(|(_, b)| *b).collect();
    let streams = stream_rates(net, &widths, fmax);
    let detector = match &o.detector {
        Some(d) => streams.iter().find(|s| &s.name == d).ok_or_else(|| {
            BuildError::Other(format!("`{d}` is not an input stream of `{}`", net.name))
        })?,
        None => streams
            .first()
            .ok_or_else(|| BuildError::Other(format!("`{}` has no input stream", net.name)))?,
    };
    let (detector_stream, gbps) = (detector.name.clone(), detector.gbps);
    let input_gbps = streams.iter().map(|s| s.gbps).sum();
    let latency = net
        .outputs
        .iter()
        .map(|out| net.nodes[out.lanes[0]].sched.last_time())
        .max()
        .unwrap_or(0);
    let report = Report {
        kernel: net.name.clone(),
        target: o.target.name().into(),
        package: o.target.package().into(),
        top,
        wrapper: wrapped,
        seed: o.seed,
        freq_target_mhz: o.freq_mhz,
        resources: {
            let [lc, ram, dsp, io] = family.row().cells;
            Resources {
                logic_cells: usage(lc),
                block_rams: usage(ram),
                dsps: usage(dsp),
                ios: Usage {
                    used: usage(io).used,
                    // nextpnr counts the die's pads; the package bonds fewer
                    available: o.target.io_pins() as u64,
                },
                source: format!("{pnr} --report (after routing)"),
            }
        },
        estimate,
        fmax_nextpnr_mhz: sourced(nextpnr_mhz, &nextpnr_source),
        fmax_icetime_mhz: placed
            .icetime_mhz
            .map(|f| sourced(f, "icetime -t on the routed .asc")),
        fmax_mhz: fmax,
        critical_path: CriticalPath {
            nets,
            python,
            source: format!("{pnr} --report critical path"),
        },
        elements_per_cycle: sourced(
            epc,
            "hissc process-network schedules (every input stream is dense)",
        ),
        element_bits: bits,
        latency_cycles: sourced(
            latency,
            "hissc process-network schedules (last output after a frame starts)",
        ),
        streams,
        throughput_gbps: sourced(
            gbps,
            &format!(
                "the detector's stream `{detector_stream}`: elements/frame × bits × {} Fmax / cycles per frame",
                if placed.icetime_mhz.is_some() { "min(nextpnr, icetime)" } else { "nextpnr's" }
            ),
        ),
        detector_stream,
        input_gbps,
        latches: latch_count,
        bitstream: bin,
        tools: family
            .tools()
            .iter()
            .map(|t| (t.to_string(), tools::version(t)))
            .collect(),
        lanes: net.lanes(),
        line_rate: None,
    };
    report.write(dir)?;
    Ok(report)
}

/// What place and route leaves: nextpnr's JSON report, and icetime's Fmax where
/// the family has icetime.
struct Placed {
    report: serde_json::Value,
    icetime_mhz: Option<f64>,
}

/// Places and routes `top.json`, packs the bitstream `bin` and (iCE40) times it
/// again with icetime.
fn place_and_route(
    dir: &Path,
    top: &str,
    bin: &str,
    o: &Options,
    progress: &mut dyn FnMut(Stage, &str),
) -> Result<Placed, BuildError> {
    let logs = dir.join("logs");
    let family = o.target.family();
    let pnr = family.pnr();
    progress(Stage::PlaceAndRoute, &format!("{pnr} place and route"));
    let (seed, freq) = (o.seed.to_string(), format!("{}", o.freq_mhz));
    let json = format!("{top}.json");
    let (ext, routed_flag) = family.row().routed;
    let routed = format!("{top}.{ext}");
    let part = format!("--{}", o.target.device().part);
    let mut args = vec![
        &part,
        "--package",
        o.target.package(),
        "--json",
        &json,
        "--seed",
        &seed,
        "--freq",
        &freq,
        "--timing-allow-fail",
        "--report",
        "nextpnr-report.json",
    ];
    args.extend([routed_flag, &routed]);
    args.extend(family.row().pnr_flags);
    tools::run(dir, pnr, &args, &logs.join("nextpnr.log"))
        .map_err(|e| over_capacity(&logs.join("nextpnr.log"), o.target).unwrap_or(e.into()))?;
    let pack = family.pack();
    progress(Stage::Pack, pack);
    tools::run(
        dir,
        pack,
        &[&routed, bin],
        &logs.join(format!("{pack}.log")),
    )?;
    let icetime_mhz = match family.timing() {
        Some(_) => {
            progress(Stage::Timing, "icetime");
            Some(icetime(dir, &routed, o.target)?)
        }
        None => None,
    };
    let report = std::fs::read_to_string(dir.join("nextpnr-report.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| {
            BuildError::Other("nextpnr wrote no readable report (see logs/nextpnr.log)".into())
        })?;
    Ok(Placed {
        report,
        icetime_mhz,
    })
}

/// icetime's Fmax of the routed iCE40 design `asc`.
fn icetime(dir: &Path, asc: &str, target: Target) -> Result<f64, BuildError> {
    let timing = tools::run(
        dir,
        "icetime",
        &[
            "-d",
            target.device().part,
            "-P",
            target.package(),
            "-t",
            asc,
        ],
        &dir.join("logs").join("icetime.log"),
    )?;
    timing
        .lines()
        .find_map(|l| {
            l.split_once("Total path delay:").and_then(|(_, r)| {
                r.split('(')
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse::<f64>()
                    .ok()
            })
        })
        .ok_or_else(|| {
            BuildError::Other("icetime printed no path delay (see logs/icetime.log)".into())
        })
}

/// The Python lines of the buses (`b12`, `b12_acc`, ...) that nets are named after.
fn python_lines(net: &Network, src: &SourceFile, nets: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in nets {
        for (i, c) in n.char_indices() {
            let boundary = i == 0 || !n[..i].ends_with(|p: char| p.is_ascii_alphanumeric());
            if c != 'b' || !boundary {
                continue;
            }
            let digits: String = n[i + 1..]
                .chars()
                .take_while(|d| d.is_ascii_digit())
                .collect();
            let Ok(k) = digits.parse::<usize>() else {
                continue;
            };
            let Some(node) = net.nodes.values().nth(k) else {
                continue;
            };
            if node.span.is_none() {
                continue;
            }
            let line = src.line(node.span);
            let text = format!("{}:{line}: {}", src.base_name(), src.line_text(line).trim());
            if !out.contains(&text) {
                out.push(text);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_capacity_cells_come_from_the_utilisation_table() {
        let log = "Info: Device utilisation:\nInfo: \t         ICESTORM_LC: 21388/ 7680   278%\nInfo: \t        ICESTORM_RAM:   192/   32   600%\nInfo: \t               SB_IO:    12/  256     4%\nInfo: Placed 0 cells based on constraints.\n";
        assert_eq!(
            cells_over(log),
            vec![
                ("ICESTORM_LC".to_string(), 21388, 7680),
                ("ICESTORM_RAM".to_string(), 192, 32)
            ]
        );
        let e = BuildError::DoesNotFit(Target::Hx8k, cells_over(log));
        assert_eq!(
            e.to_string(),
            "the design does not fit the ice40-hx8k: it needs 21388 of 7680 logic cells (ICESTORM_LC), 192 of 32 block RAMs (ICESTORM_RAM) (use fewer lanes, or a smaller kernel)"
        );
        assert!(cells_over("Info: Placed 0 cells based on constraints.\n").is_empty());
        // within the device but too full to place: the fullest cell type is named
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("nextpnr.log");
        std::fs::write(&log, "Info: Device utilisation:\nInfo: \t         ICESTORM_LC:  5100/ 5280    96%\nInfo: \t               SB_IO:    12/   39    30%\nERROR: Unable to find legal placement for all cells, design is probably at utilisation limit.\n").unwrap();
        let e = over_capacity(&log, Target::Up5k).unwrap();
        assert!(
            matches!(&e, BuildError::AtLimit(_, (c, 5100, 5280)) if c == "ICESTORM_LC"),
            "{e}"
        );
        std::fs::write(&log, "Info: Device utilisation:\nERROR: something else\n").unwrap();
        assert!(over_capacity(&log, Target::Up5k).is_none());
    }
}
