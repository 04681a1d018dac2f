//! `hissc verify`: interpreter, simulator and GHDL must agree.
//!
//! The interpreter's outputs are the reference; the simulator must give the same
//! values, and the generated VHDL, replaying the simulator's trace in GHDL, the
//! same top-level signals on every cycle.

use crate::driver::{self, Compiled, Failure};
use crate::VerifyArgs;
use hissc_flow::ghdl::{self, GhdlError};
use std::path::PathBuf;

pub fn cmd_verify(a: &VerifyArgs) -> Result<(), Failure> {
    let c = Compiled::load(&a.input.kernel, a.input.name.as_deref())?;
    let net = c.network(a.input.lanes)?;
    let bound = driver::bind_inputs(&c.kernel, &a.input.inputs, &a.input.params)?;
    if !ghdl::available() {
        return Err(Failure::User(
            "GHDL is not installed, so the hardware cannot be checked: install it with `apt-get install ghdl` (Debian's package), or run `hissc sim` for the simulator alone".into(),
        ));
    }
    let initial = driver::read_states(&c.kernel, &a.input.states)?;
    let mut states = initial.clone();
    let reference: Vec<_> = (0..bound.frames)
        .map(|f| hissc_aop::interp::run_data(&c.kernel, &bound.frame_data(f), &mut states))
        .collect();
    let run = driver::simulate(&c, &net, &bound, &initial, true)?;
    for (p, (want, got)) in c.kernel.states.iter().zip(states.iter().zip(&run.states)) {
        if *want != got.data {
            return Err(Failure::Internal(format!(
                "bug in hissc: the simulator and the reference interpreter leave state `{}` different after {} frames",
                p.name, bound.frames
            )));
        }
    }
    agree(&c, &reference, &run.frames, "the simulator")?;
    let tmp;
    let dir: PathBuf = match &a.out {
        Some(d) => d.join("verify"),
        None => {
            tmp = tempfile::tempdir()
                .map_err(|e| Failure::User(format!("cannot create a temporary directory: {e}")))?;
            tmp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::User(format!("cannot create `{}`: {e}", dir.display())))?;
    // GHDL runs inside the directory: give it absolute paths
    let dir = std::path::absolute(&dir)
        .map_err(|e| Failure::User(format!("cannot use `{}`: {e}", dir.display())))?;
    let rows = run.trace.as_deref().unwrap_or(&[]);
    driver::write_trace_csv(&dir.join("trace.csv"), &net, rows)?;
    let (iface, verdict, cycles_of) = match a.interface {
        crate::Interface::Native => {
            let (iface, verdict) =
                hissc_flow::hardware::check(&dir, &net, &c.src, rows, &initial, a.netlist);
            (iface, verdict, "")
        }
        crate::Interface::Axis => {
            let (iface, verdict) = check_axis(a, &c, &net, &bound, &initial, &reference, &dir)?;
            (
                iface,
                verdict,
                " of the AXI4-Stream wrapper under random back-pressure",
            )
        }
    };
    match verdict {
        Ok(pass) => {
            if let Some(out) = &a.out {
                driver::write_frames(out, &c.kernel, &bound, run.frames)?;
                driver::write_states(out, &c.kernel, &states)?;
            }
            println!(
                "verified `{}`{}: GHDL replayed {} cycles{cycles_of} ({} frame{}) and matched the simulator on every cycle; the simulator matched the reference interpreter",
                c.kernel.name,
                if a.netlist { " (the synthesized netlist)" } else { "" },
                pass.cycles,
                bound.frames,
                if bound.frames == 1 { "" } else { "s" }
            );
            Ok(())
        }
        Err(GhdlError::Missing) => Err(Failure::User(
            "GHDL could not be started: install it with `apt-get install ghdl`".into(),
        )),
        Err(GhdlError::Tool { step, log }) => Err(Failure::Internal(format!(
            "GHDL could not {step} the generated VHDL (files in {}):\n{}",
            dir.display(),
            log.lines().take(20).collect::<Vec<_>>().join("\n")
        ))),
        Err(GhdlError::Incomplete(tail)) => Err(Failure::Internal(format!(
            "the GHDL run ended without a verdict:\n{tail}"
        ))),
        Err(GhdlError::Mismatch {
            cycle,
            signal,
            expected,
            got,
        }) => {
            let period = net.frame_period() as u64;
            let origin = iface
                .outputs
                .iter()
                .find(|o| o.valid == signal || o.data == signal)
                .map(|o| {
                    format!(
                        "{}: `{}`",
                        c.src.loc(o.span),
                        c.src.line_text(c.src.line(o.span)).trim()
                    )
                })
                .unwrap_or_else(|| "an unknown port".into());
            Err(Failure::Internal(format!(
                "hardware and simulator differ at cycle {cycle} of the trace (cycle 0 is the reset; frame f starts at cycle 1 + {period}·f): `{signal}` is {got} in GHDL, the simulator expects {expected}; this output comes from {origin}. Files are in {} (trace.csv has every cycle)",
                dir.display()
            )))
        }
    }
}

/// The AXI4-Stream check: the wrapper's model under random back-pressure must
/// give the reference interpreter's outputs (nothing lost or duplicated), and
/// GHDL must match the model's every cycle.
fn check_axis(
    a: &VerifyArgs,
    c: &Compiled,
    net: &hissc_spn::Network,
    bound: &hissc_aop::array::Bound,
    initial: &[Vec<i128>],
    reference: &[Vec<hissc_aop::Array>],
    dir: &std::path::Path,
) -> Result<
    (
        hissc_vhdl::interface::Interface,
        Result<ghdl::Pass, GhdlError>,
    ),
    Failure,
> {
    if !(0.0..1.0).contains(&a.stall) {
        return Err(Failure::User(format!(
            "--stall {} is not a chance below 1",
            a.stall
        )));
    }
    let pressure = hissc_sim::axis::Pressure {
        seed: a.stall_seed,
        pause: a.stall,
        stall: a.stall,
    };
    let (run, scalars) =
        hissc_sim::axis::simulate_axis_bound(net, &c.kernel.params, bound, initial, pressure)
            .map_err(|e| Failure::Internal(format!("bug in hissc: {e}")))?;
    let model = format!(
        "the AXI4-Stream wrapper's model (stall seed {})",
        a.stall_seed
    );
    agree(c, reference, &run.frames, &model)?;
    Ok(hissc_flow::hardware::check_axis(
        dir, net, &c.src, &run, &scalars, a.netlist,
    ))
}

/// The reference interpreter's outputs against `what`'s, frame by frame: the
/// first difference is a bug in hissc, named with its output's Python line.
fn agree(
    c: &Compiled,
    reference: &[Vec<hissc_aop::Array>],
    got: &[Vec<hissc_aop::Array>],
    what: &str,
) -> Result<(), Failure> {
    for (f, (want, got)) in reference.iter().zip(got).enumerate() {
        for (k, (w, g)) in want.iter().zip(got).enumerate() {
            if w != g {
                let i = w
                    .data
                    .iter()
                    .zip(&g.data)
                    .position(|(x, y)| x != y)
                    .unwrap_or(0);
                let span = c.kernel.insts[c.kernel.outputs[k]].span;
                return Err(Failure::Internal(format!(
                    "bug in hissc: {what} and the reference interpreter disagree on output {k}, frame {f}, element {i}: interpreter {}, {what} {} (the output comes from {}: `{}`)",
                    w.data.get(i).copied().unwrap_or(0),
                    g.data.get(i).copied().unwrap_or(0),
                    c.src.loc(span),
                    c.src.line_text(c.src.line(span)).trim()
                )));
            }
        }
    }
    Ok(())
}
