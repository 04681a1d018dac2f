//! `hissc bundle` (a kernel built and packed into one checked file) and
//! `hissc inspect` (what a bundle holds).

use crate::build::{failure, Progress};
use crate::driver::{Compiled, Failure};
use crate::{BundleArgs, EmulateArgs, InspectArgs};
use hiss_runtime::bundle::{sha256_hex, Bundle, PortSpec};

pub fn cmd_bundle(a: &BundleArgs) -> Result<(), Failure> {
    let c = Compiled::load(&a.build.kernel, a.build.name.as_deref(), &a.build.reading)?;
    let net = c.network(a.lanes.lanes)?;
    let work = tempfile::tempdir()
        .map_err(|e| Failure::Internal(format!("cannot make a build directory: {e}")))?;
    let opts = a.build.options(work.path().to_path_buf(), None)?;
    // a design that does not fit fails here, as `hissc build` does
    let mut shown = Progress::new(&c.kernel.name, opts.target, a.build.progress);
    let built =
        hissc_driver::build::bundle(&c.src, &c.kernel, &net, &opts, &mut |e| shown.event(e));
    shown.finish();
    let (bundle, r) = built.map_err(|e| failure(&c, e))?;
    let bytes = bundle.to_bytes();
    std::fs::write(&a.output, &bytes)
        .map_err(|e| Failure::User(format!("cannot write `{}`: {e}", a.output.display())))?;
    println!(
        "bundled {} for {} ({} lane{}, {:.1} MHz, {:.2} Gbit/s): {} ({} bytes)",
        r.kernel,
        r.target,
        r.lanes,
        if r.lanes == 1 { "" } else { "s" },
        r.fmax_mhz,
        r.throughput_gbps.value,
        a.output.display(),
        bytes.len()
    );
    Ok(())
}

fn ports(ps: &[PortSpec]) -> String {
    if ps.is_empty() {
        return "-".into();
    }
    ps.iter()
        .map(|p| {
            let dims: Vec<String> = p.shape.iter().map(|d| d.to_string()).collect();
            let shape = if dims.is_empty() {
                String::new()
            } else {
                format!("[{}]", dims.join(", "))
            };
            let lanes = match p.lanes {
                Some(l) if l > 1 => format!(" x{l}"),
                _ => String::new(),
            };
            format!("{} {}{shape}{lanes}", p.name, p.dtype)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn cmd_inspect(a: &InspectArgs) -> Result<(), Failure> {
    let bytes = std::fs::read(&a.bundle)
        .map_err(|e| Failure::User(format!("cannot read `{}`: {e}", a.bundle.display())))?;
    let b = Bundle::from_bytes(&bytes)
        .map_err(|e| Failure::User(format!("`{}`: {e}", a.bundle.display())))?;
    let m = &b.manifest;
    if a.json {
        let parts: Vec<serde_json::Value> = b
            .parts
            .iter()
            .map(
                |(n, d)| serde_json::json!({"name": n, "length": d.len(), "sha256": sha256_hex(d)}),
            )
            .collect();
        let v = serde_json::json!({"manifest": m, "parts": parts});
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    let row = |k: &str, v: String| println!("  {k:<18} {v}");
    println!(
        "{}: kernel `{}` (bundle format {})",
        a.bundle.display(),
        m.kernel,
        m.format_version
    );
    row("inputs", ports(&m.inputs));
    row("parameters", ports(&m.params));
    row("states", ports(&m.states));
    row("outputs", ports(&m.outputs));
    row("target", format!("{} ({})", m.target, m.package));
    row("lanes", m.lanes.to_string());
    row(
        "clock",
        format!(
            "{:.1} MHz (nextpnr {:.1}{})",
            m.clock_mhz,
            m.fmax_nextpnr_mhz,
            m.fmax_icetime_mhz
                .map(|f| format!(", icetime {f:.1}"))
                .unwrap_or_default()
        ),
    );
    let r = &m.resources;
    row(
        "resources",
        format!(
            "{}/{} logic cells, {}/{} block RAMs, {}/{} DSPs, {}/{} I/Os",
            r.logic_cells.0,
            r.logic_cells.1,
            r.block_rams.0,
            r.block_rams.1,
            r.dsps.0,
            r.dsps.1,
            r.ios.0,
            r.ios.1
        ),
    );
    row("throughput", format!("{:.2} Gbit/s", m.throughput_gbps));
    row(
        "latency",
        format!(
            "{} cycles ({} cycles per frame)",
            m.latency_cycles, m.frame_cycles
        ),
    );
    row("hissc", m.hissc_version.clone());
    let tools: Vec<String> = m.tools.iter().map(|(t, v)| format!("{t} {v}")).collect();
    row("tools", tools.join("; "));
    row("source sha256", m.source_sha256.clone());
    for (n, d) in &b.parts {
        row(
            &format!("part {n}"),
            format!("{} bytes, sha256 {}", d.len(), sha256_hex(d)),
        );
    }
    Ok(())
}

pub fn cmd_emulate(a: &EmulateArgs) -> Result<(), Failure> {
    use hiss_runtime::Slot;
    let bytes = std::fs::read(&a.bundle)
        .map_err(|e| Failure::User(format!("cannot read `{}`: {e}", a.bundle.display())))?;
    let b = Bundle::from_bytes(&bytes)
        .map_err(|e| Failure::User(format!("`{}`: {e}", a.bundle.display())))?;
    let mut slot = hiss_runtime::EmulatedSlot::new(&b.manifest.target);
    slot.load(&b)
        .map_err(|e| Failure::User(format!("`{}`: {e}", a.bundle.display())))?;
    // the states the run starts from, zeros for those not given
    let sp = b.manifest.state_types().map_err(Failure::User)?;
    let states = crate::driver::read_states_of(&b.manifest.kernel, &sp, &a.states)?;
    slot.set_states(states)
        .map_err(|e| Failure::User(e.to_string()))?;
    // frames stream from the files through the slot into the outputs
    let inputs = crate::driver::open_inputs(&a.inputs)?;
    for (n, v) in crate::driver::parse_params(&a.params)? {
        slot.set_param(&n, v)
            .map_err(|e| Failure::User(e.to_string()))?;
    }
    let iface = slot.interface().map_err(|e| Failure::User(e.to_string()))?;
    let mut batch = hiss_runtime::Batch::open(&iface, inputs).map_err(Failure::User)?;
    let mut sink = crate::driver::OutputFiles::create(&a.out)?;
    let finals = hiss_runtime::api::run_batch_states(&mut slot, &mut batch, &mut sink)
        .map_err(|e| Failure::User(e.to_string()))?;
    sink.commit()?;
    let finals: Vec<Vec<i128>> = finals.into_iter().map(|s| s.data).collect();
    crate::driver::write_states_of(&a.out, &sp, &finals)
}
