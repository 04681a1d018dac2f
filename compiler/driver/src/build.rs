//! Builds, written once for every front end: a bitstream for a goal — a lane
//! count, or a line rate, where the search for the lanes that reach it lives
//! here — with each stage reported as it starts, and a bundle for a node.
//!
//! A line rate is searched from a first guess (the detector stream's bits per
//! cycle at the target clock), doubling the lanes until a build's post-route
//! throughput reaches the rate, the kernel takes no more lanes, the device is
//! full, or the most lanes hissc builds were tried. A first guess that does not
//! fit (or compile) is halved until a lane count builds, down to one lane. Every
//! build tried is in the report (`line_rate.tried`), a rate not reached says
//! what limits it, and the build directory holds the best build.

use crate::{has_bug, network};
use hiss_runtime::bundle::{sha256_hex, Bundle, Manifest, Resources, FORMAT_VERSION};
use hissc_aop::Kernel;
use hissc_diagnostics::{Diagnostic, SourceFile};
use hissc_flow::build::{BuildError, LineRate, Options, Report, Stage, Usage};
use hissc_spn::Network;

/// What a build aims for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// Up to this many lanes (the kernel may take fewer).
    Lanes(u32),
    /// This throughput of the detector stream, in Gbit/s, proven by post-route
    /// timing.
    LineRate(f64),
}

/// What a build reports as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// A stage of the build at `lanes` starts.
    Stage {
        /// The lanes of the design being built.
        lanes: u32,
        /// The stage.
        stage: Stage,
        /// What runs in it (`yosys synth_ecp5`).
        detail: &'a str,
    },
    /// A line-rate search finished a build: its Gbit/s, or why it did not build.
    Tried {
        /// Its lanes.
        lanes: u32,
        /// Its throughput, or why there is none.
        outcome: &'a Result<f64, String>,
    },
}

/// A finished build.
#[derive(Debug)]
pub struct Built {
    /// The network built.
    pub network: Network,
    /// Its report (with the line-rate search, if there was one), also written
    /// to `report.json` in the build directory.
    pub report: Report,
    /// Why the network has fewer lanes than asked, if it has.
    pub warnings: Vec<Diagnostic>,
}

/// Why a build gave no bitstream for its goal.
#[derive(Debug)]
pub enum BuildFailure {
    /// The kernel does not compile at the lanes asked (or hissc has a bug:
    /// [`crate::has_bug`]).
    Compile(Vec<Diagnostic>),
    /// A tool is missing or failed, or the design does not fit.
    Build(BuildError),
    /// The line rate was not reached; the best build's report, if one built.
    NotReached {
        /// The search: every build tried and what limits the rate.
        search: LineRate,
        /// The fastest build, (lanes, Gbit/s).
        best: Option<(u32, f64)>,
        /// The last build's report (written to `report.json`).
        report: Option<Box<Report>>,
    },
}

/// Builds `kernel` for `goal` as `opts` says (target, clock, seed, directory).
pub fn build(
    src: &SourceFile,
    kernel: &Kernel,
    goal: Goal,
    opts: &Options,
    progress: &mut dyn FnMut(Event),
) -> Result<Built, BuildFailure> {
    let lanes = match goal {
        Goal::Lanes(lanes) => lanes,
        Goal::LineRate(gbps) => return line_rate(src, kernel, gbps, opts, progress),
    };
    let (net, warnings) = network(src, kernel, lanes).map_err(BuildFailure::Compile)?;
    let report = one(&net, src, opts, progress).map_err(BuildFailure::Build)?;
    Ok(Built {
        network: net,
        report,
        warnings,
    })
}

/// One build of `net`, its stages reported.
fn one(
    net: &Network,
    src: &SourceFile,
    opts: &Options,
    progress: &mut dyn FnMut(Event),
) -> Result<Report, BuildError> {
    let lanes = net.lanes();
    hissc_flow::build::build(net, src, opts, &mut |stage, detail| {
        progress(Event::Stage {
            lanes,
            stage,
            detail,
        })
    })
}

/// Bits of one element of the detector stream (the first array parameter, or
/// `opts.detector`): its VHDL port's width, from the values it may carry.
fn detector_bits(kernel: &Kernel, opts: &Options) -> u32 {
    kernel
        .params
        .iter()
        .filter(|p| p.is_stream())
        .find(|p| opts.detector.as_ref().is_none_or(|d| *d == p.name))
        .map_or(1, |p| p.range.port_bits().0)
}

/// The line-rate search (see the module's documentation).
fn line_rate(
    src: &SourceFile,
    kernel: &Kernel,
    want: f64,
    opts: &Options,
    progress: &mut dyn FnMut(Event),
) -> Result<Built, BuildFailure> {
    let bits = detector_bits(kernel, opts) as f64;
    let guess = (want * 1000.0 / (bits * opts.freq_mhz)).ceil().max(1.0) as u32;
    let max = hissc_spn::lanes::MAX_LANES;
    let mut lanes = guess.next_power_of_two().min(max);
    let mut tried: Vec<(u32, Result<f64, String>)> = Vec::new();
    let mut last: Option<Built> = None;
    // the first lane count that did not compile or fit, while stepping down
    let mut too_many: Option<String> = None;
    // a build that failed after `last` was built (its files are in the directory)
    let mut dirty = false;
    let limit = loop {
        // a lane count that does not compile or fit before anything built:
        // halve it, down to one lane, and report the best reached
        let mut step_down = |why: String, lanes: &mut u32| -> bool {
            if last.is_none() && *lanes > 1 {
                too_many.get_or_insert(why);
                *lanes /= 2;
                true
            } else {
                false
            }
        };
        let (net, why) = match network(src, kernel, lanes) {
            Ok(n) => n,
            // a compiler bug is not a limit of the kernel
            Err(d) if has_bug(&d) => return Err(BuildFailure::Compile(d)),
            Err(d) => {
                let first = d.first().map_or(String::new(), |d| d.message.clone());
                record(progress, &mut tried, lanes, Err(first.clone()));
                let why = format!("{lanes} lanes do not compile: {first}");
                if step_down(why.clone(), &mut lanes) {
                    continue;
                }
                break Some(why);
            }
        };
        // a kernel that takes fewer lanes than asked: build what it takes, then stop
        let got = net.lanes();
        let fewer = why.first().map(|d| {
            format!(
                "the kernel takes at most {got} element{} per cycle: {}",
                if got == 1 { "" } else { "s" },
                d.message
            )
        });
        if let Some(f) = &fewer {
            if tried.iter().any(|(l, _)| *l == got) {
                break Some(f.clone());
            }
        }
        match one(&net, src, opts, progress) {
            Ok(r) => {
                record(progress, &mut tried, got, Ok(r.throughput_gbps.value));
                let met = r.throughput_gbps.value >= want;
                let fmax = r.fmax_mhz;
                let path = r
                    .critical_path
                    .python
                    .first()
                    .or(r.critical_path.nets.first())
                    .cloned()
                    .unwrap_or_default();
                last = Some(Built {
                    network: net,
                    report: r,
                    warnings: why,
                });
                dirty = false;
                if met {
                    break None;
                }
                if let Some(t) = &too_many {
                    break Some(format!("{t}; {got} lanes are the most that build"));
                }
                if fewer.is_some() {
                    break fewer;
                }
                if lanes >= max {
                    break Some(format!(
                        "{max} lanes is the most hissc builds, and the clock reaches {fmax:.1} MHz; the critical path runs through {path}"
                    ));
                }
            }
            // running out of the device is a limit of this lane count
            Err(
                e @ (BuildError::DoesNotFit(..)
                | BuildError::TooLarge(..)
                | BuildError::AtLimit(..)),
            ) => {
                let line = e.to_string();
                let first = line.lines().next().unwrap_or("").trim().to_string();
                record(progress, &mut tried, got, Err(first.clone()));
                dirty = last.is_some();
                let why = format!("{got} lanes do not build: {first}");
                if step_down(why.clone(), &mut lanes) {
                    continue;
                }
                break Some(why);
            }
            // a missing tool is the user's to install; a tool that fails
            // otherwise is a bug in hissc, never "the rate was not reached"
            Err(e) => return Err(BuildFailure::Build(e)),
        }
        lanes *= 2;
    };
    // the directory holds the build reported: the best, built again when a
    // larger one that failed wrote over it
    if let (true, Some(b)) = (dirty, last.as_mut()) {
        b.report = one(&b.network, src, opts, progress).map_err(BuildFailure::Build)?;
    }
    let best = tried
        .iter()
        .filter_map(|(l, r)| r.as_ref().ok().map(|g| (*l, *g)))
        .fold(None, |b: Option<(u32, f64)>, x| match b {
            Some(y) if y.1 >= x.1 => Some(y),
            _ => Some(x),
        });
    let search = LineRate {
        required_gbps: want,
        met: limit.is_none(),
        tried,
        limit,
    };
    if let Some(b) = last.as_mut() {
        b.report.line_rate = Some(search.clone());
        b.report.write(&opts.dir).map_err(BuildFailure::Build)?;
    }
    match last {
        Some(b) if search.met => Ok(b),
        last => Err(BuildFailure::NotReached {
            search,
            best,
            report: last.map(|b| Box::new(b.report)),
        }),
    }
}

/// Reports a build the search finished, and keeps it.
fn record(
    progress: &mut dyn FnMut(Event),
    tried: &mut Vec<(u32, Result<f64, String>)>,
    lanes: u32,
    outcome: Result<f64, String>,
) {
    progress(Event::Tried {
        lanes,
        outcome: &outcome,
    });
    tried.push((lanes, outcome));
}

/// A bundle for a node: `net` built as `opts` says (into `opts.dir`), packed
/// with its VHDL, its network and the kernel's source, every part hashed.
pub fn bundle(
    src: &SourceFile,
    kernel: &Kernel,
    net: &Network,
    opts: &Options,
    progress: &mut dyn FnMut(Event),
) -> Result<(Bundle, Report), BuildError> {
    let r = one(net, src, opts, progress)?;
    let bitstream = std::fs::read(opts.dir.join(&r.bitstream))
        .map_err(|e| BuildError::Other(format!("the build left no `{}`: {e}", r.bitstream)))?;
    let vhdl = hissc_vhdl::emit(net, src).design.into_bytes();
    let text = hissc_spn::print::print(net, Some(src)).into_bytes();
    let source = src.text.clone().into_bytes();
    let aop = hissc_aop::print::print(kernel, Some(src)).into_bytes();
    let b = Bundle::new(
        manifest(src, kernel, net, &r),
        [bitstream, vhdl, text, source, aop],
    );
    Ok((b, r))
}

/// The manifest of a built network.
fn manifest(src: &SourceFile, kernel: &Kernel, net: &Network, r: &Report) -> Manifest {
    let (inputs, params, outputs) = hiss_runtime::bundle::ports(net);
    let res = &r.resources;
    let pair = |u: &Usage| (u.used, u.available);
    Manifest {
        format_version: FORMAT_VERSION,
        kernel: kernel.name.clone(),
        source_sha256: sha256_hex(src.text.as_bytes()),
        inputs,
        params,
        states: hiss_runtime::bundle::state_ports(net),
        outputs,
        target: r.target.clone(),
        package: r.package.clone(),
        lanes: r.lanes,
        clock_mhz: r.fmax_mhz,
        fmax_nextpnr_mhz: r.fmax_nextpnr_mhz.value,
        fmax_icetime_mhz: r.fmax_icetime_mhz.as_ref().map(|f| f.value),
        resources: Resources {
            logic_cells: pair(&res.logic_cells),
            block_rams: pair(&res.block_rams),
            dsps: pair(&res.dsps),
            ios: pair(&res.ios),
        },
        throughput_gbps: r.throughput_gbps.value,
        latency_cycles: r.latency_cycles.value,
        frame_cycles: net.frame_period(),
        hissc_version: env!("CARGO_PKG_VERSION").to_string(),
        tools: r.tools.clone(),
    }
}
