//! `hissc build`: a bitstream, with a progress display and a report table.

use crate::driver::{Compiled, Failure};
use crate::BuildArgs;
use hissc_flow::build::{self, BuildError, Options, Report};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

pub fn cmd_build(a: &BuildArgs) -> Result<(), Failure> {
    let c = Compiled::load(&a.build.kernel, a.build.name.as_deref(), &a.build.reading)?;
    let dir = a
        .output
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("build").join(&c.kernel.name));
    let mut opts = a.build.options(dir.clone(), a.detector.clone())?;
    opts.axis = a.interface.interface == crate::Interface::Axis;
    let streams: Vec<&str> = c
        .kernel
        .params
        .iter()
        .filter(|p| p.is_stream())
        .map(|p| p.name.as_str())
        .collect();
    if let Some(d) = &a.detector {
        if !streams.contains(&d.as_str()) {
            return Err(Failure::User(format!(
                "--detector `{d}` is not an array parameter of `{}` (its streams: {})",
                c.kernel.name,
                streams.join(", ")
            )));
        }
    }
    let Some(rate) = &a.line_rate else {
        let net = c.network(a.lanes.lanes)?;
        let r = run_build(&c, &net, &opts, a.build.progress).map_err(|e| failure(&c, e))?;
        print_table(&r, &dir);
        return Ok(());
    };
    let want = parse_rate(rate)?;
    // The detector stream's bits per cycle at one lane; the first guess assumes
    // the target clock.
    let bits: f64 = c
        .kernel
        .params
        .iter()
        .filter(|p| p.is_stream())
        .find(|p| a.detector.as_ref().is_none_or(|d| *d == p.name))
        .map_or(1.0, |p| hissc_vhdl::interface::port_width(p.range).0 as f64);
    let guess = (want * 1000.0 / (bits.max(1.0) * opts.freq_mhz))
        .ceil()
        .max(1.0) as u32;
    let max = hissc_spn::lanes::MAX_LANES;
    let mut lanes = guess.next_power_of_two().min(max);
    let mut tried: Vec<(u32, Result<f64, String>)> = Vec::new();
    let mut last: Option<Report> = None;
    let limit = loop {
        let (net, why) = match c.network_why(lanes) {
            Ok(n) => n,
            // a compiler bug is not a limit of the kernel
            Err(f) if f.exit_code() == 2 => return Err(f),
            Err(f) => {
                let why = first_error(&f.message());
                tried.push((lanes, Err(why.clone())));
                break Some(format!("{lanes} lanes do not compile: {why}"));
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
        match run_build(&c, &net, &opts, a.build.progress) {
            Ok(r) => {
                tried.push((got, Ok(r.throughput_gbps.value)));
                let met = r.throughput_gbps.value >= want;
                let fmax = r.fmax_mhz;
                let path = r
                    .critical_path
                    .python
                    .first()
                    .or(r.critical_path.nets.first())
                    .cloned()
                    .unwrap_or_default();
                last = Some(r);
                if met {
                    break None;
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
            Err(e @ (BuildError::DoesNotFit(..) | BuildError::TooLarge(..))) => {
                let why = first_error(&e.to_string());
                tried.push((got, Err(why.clone())));
                break Some(format!("{got} lanes do not build: {why}"));
            }
            // a missing tool is the user's to install; a tool that fails
            // otherwise is a bug in hissc, never "the rate was not reached"
            Err(e) => return Err(failure(&c, e)),
        }
        lanes *= 2;
    };
    let best = tried
        .iter()
        .filter_map(|(l, r)| r.as_ref().ok().map(|g| (*l, *g)))
        .fold(None, |b: Option<(u32, f64)>, x| match b {
            Some(y) if y.1 >= x.1 => Some(y),
            _ => Some(x),
        });
    let line = hissc_flow::build::LineRate {
        required_gbps: want,
        met: limit.is_none(),
        tried: tried.clone(),
        limit: limit.clone(),
    };
    if let Some(r) = last.as_mut() {
        r.line_rate = Some(line);
        r.write(&dir)
            .map_err(|e| Failure::Internal(e.to_string()))?;
        print_table(r, &dir);
    }
    let attempts: Vec<String> = tried
        .iter()
        .map(|(l, r)| match r {
            Ok(g) => format!("{l} lanes: {g:.2} Gbit/s"),
            Err(_) => format!("{l} lanes: no build"),
        })
        .collect();
    match (limit, best) {
        (None, Some((l, g))) => {
            println!(
                "  line rate              met: {g:.2} Gbit/s >= {want} Gbit/s with {l} lanes ({})",
                attempts.join(", ")
            );
            Ok(())
        }
        (limit, best) => Err(Failure::User(format!(
            "line rate {want} Gbit/s not reached: the best was {} ({}); {}",
            best.map_or("no build".to_string(), |(l, g)| format!(
                "{g:.2} Gbit/s with {l} lanes"
            )),
            attempts.join(", "),
            limit.unwrap_or_default()
        ))),
    }
}

/// `40Gbps`, `40 Gbit/s`, `2.5G`, `800Mbps` (bits per second) in Gbit/s.
fn parse_rate(s: &str) -> Result<f64, Failure> {
    let t = s.trim().to_ascii_lowercase().replace(' ', "");
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(num_end);
    let scale = match unit {
        "g" | "gbps" | "gbit/s" | "gb/s" | "gbit" => 1.0,
        "m" | "mbps" | "mbit/s" | "mb/s" | "mbit" => 1e-3,
        "t" | "tbps" | "tbit/s" => 1e3,
        _ => f64::NAN,
    };
    match num.parse::<f64>() {
        Ok(v) if v > 0.0 && scale.is_finite() => Ok(v * scale),
        _ => Err(Failure::User(format!(
            "--line-rate `{s}` is not a rate: write it like 40Gbps or 800Mbps"
        ))),
    }
}

/// The first line that says `error`, for a one-line reason.
fn first_error(m: &str) -> String {
    m.lines()
        .find(|l| l.contains("error"))
        .unwrap_or(m.lines().next().unwrap_or(""))
        .trim()
        .to_string()
}

/// What a failed build means to the user: a missing tool or a design too big for
/// the device is theirs to act on (exit 1); a tool failing otherwise is hissc's.
pub fn failure(c: &Compiled, e: BuildError) -> Failure {
    match e {
        BuildError::Tool(t @ hissc_flow::tools::ToolError::Missing { .. }) => {
            Failure::User(t.to_string())
        }
        e @ (BuildError::DoesNotFit(..) | BuildError::TooLarge(..)) => {
            Failure::User(format!("`{}`: {e}", c.kernel.name))
        }
        e => Failure::Internal(format!("the build of `{}` failed: {e}", c.kernel.name)),
    }
}

/// Runs one build, showing its stages as `progress` says.
pub fn run_build(
    c: &Compiled,
    net: &hissc_spn::Network,
    opts: &Options,
    progress: crate::Progress,
) -> Result<Report, BuildError> {
    let target = opts.target;
    let lanes = net.lanes();
    let stages = target.family().stages();
    if progress == crate::Progress::Json {
        // one JSON object per line on stderr, for programs (the notebook's bar)
        return build::build(net, &c.src, opts, &mut |stage, detail| {
            let index = stages.iter().position(|&s| s == stage).unwrap_or(0);
            let event = serde_json::json!({
                "event": "stage",
                "kernel": c.kernel.name,
                "lanes": lanes,
                "target": target.name(),
                "stage": stage,
                "index": index,
                "stages": stages.len(),
                "detail": detail,
            });
            eprintln!("{event}");
        });
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    // without a terminal (a log) each stage is a line
    let lines = !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let result = build::build(net, &c.src, opts, &mut |_, step| {
        let msg = format!(
            "{} ({lanes} lane{}) for {}: {step}",
            c.kernel.name,
            if lanes == 1 { "" } else { "s" },
            target.name()
        );
        if lines {
            eprintln!("build: {msg}");
        }
        bar.set_message(msg)
    });
    bar.finish_and_clear();
    result
}

fn print_table(r: &Report, dir: &std::path::Path) {
    let res = &r.resources;
    let row = |k: &str, v: String, src: &str| println!("  {k:<22} {v:<28} {src}");
    println!(
        "built {} for {} ({}): {}",
        r.kernel,
        r.target,
        r.package,
        dir.join(&r.bitstream).display()
    );
    if let Some(w) = &r.wrapper {
        println!("  note: {w}");
    }
    for (name, u) in [
        ("logic cells", &res.logic_cells),
        ("block RAMs", &res.block_rams),
        ("DSPs", &res.dsps),
        ("I/Os", &res.ios),
    ] {
        row(name, format!("{} / {}", u.used, u.available), &res.source);
    }
    let est = &r.estimate;
    row(
        "estimated",
        format!(
            ">= {} LCs, {} BRAMs, {} mult",
            est.logic_cells, est.block_rams, est.multipliers
        ),
        &est.source,
    );
    row("  the most for", est.heaviest.clone(), "");
    row(
        "Fmax (nextpnr)",
        format!("{:.1} MHz", r.fmax_nextpnr_mhz.value),
        &r.fmax_nextpnr_mhz.source,
    );
    if let Some(it) = &r.fmax_icetime_mhz {
        row("Fmax (icetime)", format!("{:.1} MHz", it.value), &it.source);
    }
    let epc: Vec<String> = r
        .elements_per_cycle
        .value
        .iter()
        .map(|(n, e)| format!("{n} {e:.2}"))
        .collect();
    row(
        "elements per cycle",
        epc.join(", "),
        &r.elements_per_cycle.source,
    );
    row("lanes", r.lanes.to_string(), "--lanes / --line-rate");
    row(
        "latency",
        format!("{} cycles", r.latency_cycles.value),
        &r.latency_cycles.source,
    );
    for s in &r.streams {
        let who = if s.name == r.detector_stream {
            "the detector's pixels"
        } else {
            "another input stream"
        };
        row(
            &format!("stream `{}`", s.name),
            format!("{:.2} Gbit/s ({} bits)", s.gbps, s.bits),
            who,
        );
    }
    row(
        "throughput",
        format!("{:.2} Gbit/s", r.throughput_gbps.value),
        &r.throughput_gbps.source,
    );
    if r.streams.len() > 1 {
        row(
            "all inputs",
            format!("{:.2} Gbit/s", r.input_gbps),
            "Σ of the input streams",
        );
    }
    if r.critical_path.python.is_empty() {
        println!(
            "  critical path          {}",
            r.critical_path.nets.first().cloned().unwrap_or_default()
        );
    } else {
        println!(
            "  critical path through  {}",
            r.critical_path.python.join("\n                         ")
        );
    }
    let tools: Vec<String> = r.tools.iter().map(|(t, v)| format!("{t}: {v}")).collect();
    println!("  tools                  {}", tools.join("; "));
    println!(
        "  report: {}, logs: {}",
        dir.join("report.json").display(),
        dir.join("logs").display()
    );
}
