//! The hardware check: the design and its testbench replay a simulator trace in GHDL.

use crate::ghdl::{self, GhdlError, Pass};
use hissc_diagnostics::SourceFile;
use hissc_spn::trace::TraceRow;
use hissc_spn::Network;
use std::path::Path;

/// Writes the design, the testbench and the vector file into `dir` and replays the
/// trace in GHDL. With `netlist`, the testbench runs against GHDL's synthesized
/// netlist of the design (`ghdl --synth --out=vhdl`) instead of its source, so a
/// difference between simulation and synthesis is caught. Returns the VHDL
/// interface with the verdict.
pub fn check(
    dir: &Path,
    net: &Network,
    src: &SourceFile,
    rows: &[TraceRow],
    states: &[Vec<i128>],
    netlist: bool,
) -> (hissc_vhdl::interface::Interface, Result<Pass, GhdlError>) {
    let v = hissc_vhdl::emit(net, src);
    let verdict = replay(
        dir,
        &v.iface.entity,
        &v.design,
        &hissc_vhdl::tb::testbench(&v.iface),
        &hissc_vhdl::tb::vectors(&v.iface, rows, states),
        netlist,
    );
    (v.iface, verdict)
}

/// The same check through the AXI4-Stream wrapper (`--interface axis`): the
/// design with its clock enable and the wrapper (one file), the wrapper's
/// testbench, and the model's cycles under back-pressure as the vector file.
pub fn check_axis(
    dir: &Path,
    net: &Network,
    src: &SourceFile,
    run: &hissc_sim::axis::AxisRun,
    params: &[i128],
    netlist: bool,
) -> (hissc_vhdl::interface::Interface, Result<Pass, GhdlError>) {
    let a = hissc_vhdl::emit_axis(net, src);
    let iface = &a.vhdl.iface;
    let verdict = replay(
        dir,
        &format!("{}_axis", iface.entity),
        &a.text(),
        &hissc_vhdl::axis::testbench(iface),
        &hissc_vhdl::axis::vectors(iface, &run.rows, params),
        netlist,
    );
    (a.vhdl.iface, verdict)
}

/// Writes `top`'s design, its testbench `top_tb` and the vectors into `dir`,
/// synthesizes the design first with `netlist`, and runs the testbench in GHDL.
fn replay(
    dir: &Path,
    top: &str,
    design_text: &str,
    tb_text: &str,
    vectors: &str,
    netlist: bool,
) -> Result<Pass, GhdlError> {
    let design = dir.join(format!("{top}.vhd"));
    let tb = dir.join(format!("{top}_tb.vhd"));
    let vec = dir.join(format!("{top}.vec"));
    let written = std::fs::write(&design, design_text)
        .and_then(|_| std::fs::write(&tb, tb_text))
        .and_then(|_| std::fs::write(&vec, vectors));
    let design = match (written, netlist) {
        (Ok(()), true) => ghdl::synthesize(dir, &design, top).map_err(|log| GhdlError::Tool {
            step: "synthesize",
            log,
        }),
        (Ok(()), false) => Ok(design),
        (Err(err), _) => Err(GhdlError::Tool {
            step: "write",
            log: format!("cannot write into `{}`: {err}", dir.display()),
        }),
    };
    design.and_then(|design| ghdl::run_testbench(dir, &[design, tb], &format!("{top}_tb"), &vec))
}
