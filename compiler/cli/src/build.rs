//! `hissc build`: the arguments and the rendering around
//! [`hissc_driver::build`] (which holds the build and the line-rate search):
//! a progress display, the report table, and what a failure means to the user.

use crate::driver::{Compiled, Failure};
use crate::BuildArgs;
use hissc_driver::build::{BuildFailure, Event, Goal};
use hissc_flow::build::{BuildError, Report, Target};
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
    let goal = match &a.line_rate {
        Some(rate) => Goal::LineRate(parse_rate(rate)?),
        None => Goal::Lanes(a.lanes.lanes),
    };
    let mut shown = Progress::new(&c.kernel.name, opts.target, a.build.progress);
    let result =
        hissc_driver::build::build(&c.src, &c.kernel, goal, &opts, &mut |e| shown.event(e));
    shown.finish();
    match result {
        Ok(b) => {
            if matches!(goal, Goal::Lanes(_)) && !b.warnings.is_empty() {
                eprint!("{}", hissc_diagnostics::render(&c.src, &b.warnings));
            }
            print_table(&b.report, &dir);
            if let Some(l) = &b.report.line_rate {
                println!(
                    "  line rate              met: {:.2} Gbit/s >= {} Gbit/s with {} lanes ({})",
                    b.report.throughput_gbps.value,
                    l.required_gbps,
                    b.report.lanes,
                    attempts(&l.tried)
                );
            }
            Ok(())
        }
        Err(BuildFailure::Compile(d)) => Err(crate::driver::diagnostics(&c.src, &d)),
        Err(BuildFailure::Build(e)) => Err(failure(&c, e)),
        Err(BuildFailure::NotReached {
            search,
            best,
            report,
        }) => {
            if let Some(r) = &report {
                print_table(r, &dir);
            }
            Err(Failure::User(format!(
                "line rate {} Gbit/s not reached: the best was {} ({}); {}",
                search.required_gbps,
                best.map_or("no build".to_string(), |(l, g)| format!(
                    "{g:.2} Gbit/s with {l} lanes"
                )),
                attempts(&search.tried),
                search.limit.unwrap_or_default()
            )))
        }
    }
}

/// `1 lanes: 0.80 Gbit/s, 2 lanes: no build, ...`
fn attempts(tried: &[(u32, Result<f64, String>)]) -> String {
    let parts: Vec<String> = tried
        .iter()
        .map(|(l, r)| match r {
            Ok(g) => format!("{l} lanes: {g:.2} Gbit/s"),
            Err(_) => format!("{l} lanes: no build"),
        })
        .collect();
    parts.join(", ")
}

/// How a build's stages are shown: a spinner on a terminal, one line per
/// stage in a log, or one JSON object per stage (`--progress json`).
pub struct Progress {
    kernel: String,
    target: Target,
    json: bool,
    lines: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// The display for builds of `kernel` for `target`.
    pub fn new(kernel: &str, target: Target, how: crate::Progress) -> Progress {
        let json = how == crate::Progress::Json;
        let bar = (!json).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            kernel: kernel.to_string(),
            target,
            json,
            // without a terminal (a log) each stage is a line
            lines: !std::io::IsTerminal::is_terminal(&std::io::stderr()),
            bar,
        }
    }

    /// Shows one event.
    pub fn event(&mut self, e: Event) {
        let Event::Stage {
            lanes,
            stage,
            detail,
        } = e
        else {
            return;
        };
        if self.json {
            let stages = self.target.family().stages();
            let event = serde_json::json!({
                "event": "stage",
                "kernel": self.kernel,
                "lanes": lanes,
                "target": self.target.name(),
                "stage": stage,
                "index": stages.iter().position(|&s| s == stage).unwrap_or(0),
                "stages": stages.len(),
                "detail": detail,
            });
            eprintln!("{event}");
            return;
        }
        let msg = format!(
            "{} ({lanes} lane{}) for {}: {detail}",
            self.kernel,
            if lanes == 1 { "" } else { "s" },
            self.target.name()
        );
        if self.lines {
            eprintln!("build: {msg}");
        }
        if let Some(bar) = &self.bar {
            bar.set_message(msg);
        }
    }

    /// Clears the spinner.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
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

/// What a failed build means to the user: a missing tool or a design too big for
/// the device is theirs to act on (exit 1); a tool failing otherwise is hissc's.
pub fn failure(c: &Compiled, e: BuildError) -> Failure {
    match e {
        BuildError::Tool(t @ hissc_flow::tools::ToolError::Missing { .. }) => {
            Failure::User(t.to_string())
        }
        e @ (BuildError::DoesNotFit(..) | BuildError::TooLarge(..) | BuildError::AtLimit(..)) => {
            Failure::User(format!("`{}`: {e}", c.kernel.name))
        }
        e => Failure::Internal(format!("the build of `{}` failed: {e}", c.kernel.name)),
    }
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
