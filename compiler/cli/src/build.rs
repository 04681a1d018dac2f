//! `hissc build`: a bitstream, with a progress display and a report table.

use crate::driver::{Compiled, Failure};
use crate::BuildArgs;
use hissc_flow::build::{self, BuildError, Options, Report, Target};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

pub fn cmd_build(a: &BuildArgs) -> Result<(), Failure> {
    let target = Target::parse(&a.target).ok_or_else(|| {
        Failure::User(format!(
            "unknown target `{}`: use ice40-hx8k or ice40-up5k",
            a.target
        ))
    })?;
    if !(a.freq > 0.0 && a.freq < 1000.0) {
        return Err(Failure::User(format!(
            "--freq {} is not a clock frequency in MHz",
            a.freq
        )));
    }
    let c = Compiled::load(&a.kernel, a.name.as_deref())?;
    let net = c.network(a.lanes)?;
    let dir = a
        .output
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("build").join(&c.kernel.name));
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let opts = Options {
        target,
        freq_mhz: a.freq,
        seed: a.seed,
        dir: dir.clone(),
    };
    let result = build::build(&net, &c.src, &opts, &mut |step| {
        bar.set_message(format!("{} for {}: {step}", c.kernel.name, target.name()))
    });
    bar.finish_and_clear();
    match result {
        Ok(r) => {
            print_table(&r, &dir);
            Ok(())
        }
        Err(BuildError::Tool(t @ hissc_flow::tools::ToolError::Missing { .. })) => {
            Err(Failure::User(t.to_string()))
        }
        Err(e) => Err(Failure::Internal(format!(
            "the build of `{}` failed: {e}",
            c.kernel.name
        ))),
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
    row(
        "logic cells",
        format!("{} / {}", res.logic_cells.used, res.logic_cells.available),
        &res.source,
    );
    row(
        "block RAMs",
        format!("{} / {}", res.block_rams.used, res.block_rams.available),
        &res.source,
    );
    row(
        "DSPs",
        format!("{} / {}", res.dsps.used, res.dsps.available),
        &res.source,
    );
    row(
        "I/Os",
        format!("{} / {}", res.ios.used, res.ios.available),
        &res.source,
    );
    row(
        "Fmax (nextpnr)",
        format!("{:.1} MHz", r.fmax_nextpnr_mhz.value),
        &r.fmax_nextpnr_mhz.source,
    );
    row(
        "Fmax (icetime)",
        format!("{:.1} MHz", r.fmax_icetime_mhz.value),
        &r.fmax_icetime_mhz.source,
    );
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
    row(
        "latency",
        format!("{} cycles", r.latency_cycles.value),
        &r.latency_cycles.source,
    );
    row(
        "throughput",
        format!("{:.2} Gbit/s", r.throughput_gbps.value),
        &r.throughput_gbps.source,
    );
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
