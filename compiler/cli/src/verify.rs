//! `hissc verify`: interpreter, simulator and GHDL must agree — arguments and
//! rendering around [`hissc_driver::verify`], which the test suite calls too.

use crate::driver::{self, Compiled, Failure};
use crate::VerifyArgs;
use hissc_driver::verify::{Check, Hardware};
use std::path::PathBuf;

pub fn cmd_verify(a: &VerifyArgs) -> Result<(), Failure> {
    let c = Compiled::load(&a.input.kernel, a.input.name.as_deref(), &a.input.reading)?;
    let net = c.network(a.input.lanes.lanes)?;
    let bound = driver::bind_inputs(&c.kernel, &a.input.inputs, &a.input.params)?;
    if !hissc_flow::ghdl::available() {
        return Err(Failure::User(
            "GHDL is not installed, so the hardware cannot be checked: install it with `apt-get install ghdl` (Debian's package), or run `hissc sim` for the simulator alone".into(),
        ));
    }
    let hardware = match a.interface.interface {
        crate::Interface::Native => Hardware::Native,
        crate::Interface::Axis => {
            if !(0.0..1.0).contains(&a.stall) {
                return Err(Failure::User(format!(
                    "--stall {} is not a chance below 1",
                    a.stall
                )));
            }
            Hardware::Axis(hissc_sim::axis::Pressure {
                seed: a.stall_seed,
                pause: a.stall,
                stall: a.stall,
            })
        }
    };
    let initial = driver::read_states(&c.kernel, &a.input.states)?;
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
    let check = Check {
        src: &c.src,
        kernel: &c.kernel,
        network: &net,
        inputs: &bound,
        states: &initial,
        hardware,
        netlist: a.netlist,
        dir: &dir,
    };
    let v = hissc_driver::verify::verify(&check).map_err(|f| {
        let m = f.message(&c.src);
        if f.is_missing_tool() {
            Failure::User(m)
        } else {
            Failure::Internal(m)
        }
    })?;
    if let Some(out) = &a.out {
        driver::write_frames(out, &c.kernel, &bound, v.outputs)?;
        driver::write_states(out, &c.kernel, &v.states)?;
    }
    println!(
        "verified `{}`{}: GHDL replayed {} cycles{} ({} frame{}) and matched the simulator on every cycle; the simulator matched the reference interpreter",
        c.kernel.name,
        if a.netlist { " (the synthesized netlist)" } else { "" },
        v.cycles,
        match hardware {
            Hardware::Axis(_) => " of the AXI4-Stream wrapper under random back-pressure",
            _ => "",
        },
        bound.frames,
        if bound.frames == 1 { "" } else { "s" }
    );
    Ok(())
}
