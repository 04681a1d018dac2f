//! The hardware check: the design and its testbench replay a simulator trace in GHDL.

use crate::ghdl::{self, GhdlError, Pass};
use hissc_diagnostics::SourceFile;
use hissc_sim::TraceRow;
use hissc_spn::Network;
use std::path::Path;

/// Writes the design, the testbench, the vector file and the CSV trace into `dir`
/// and replays the trace in GHDL. Returns the VHDL interface with the verdict.
pub fn check(
    dir: &Path,
    net: &Network,
    src: &SourceFile,
    rows: &[TraceRow],
) -> (hissc_vhdl::interface::Interface, Result<Pass, GhdlError>) {
    let v = hissc_vhdl::emit(net, src);
    let e = v.iface.entity.clone();
    let design = dir.join(format!("{e}.vhd"));
    let tb = dir.join(format!("{e}_tb.vhd"));
    let vec = dir.join(format!("{e}.vec"));
    let written = std::fs::write(&design, &v.design)
        .and_then(|_| std::fs::write(&tb, hissc_vhdl::tb::testbench(&v.iface)))
        .and_then(|_| std::fs::write(&vec, hissc_vhdl::tb::vectors(&v.iface, rows)));
    let verdict = match written {
        Ok(()) => ghdl::run_testbench(dir, &[design, tb], &format!("{e}_tb"), &vec),
        Err(err) => Err(GhdlError::Tool {
            step: "write",
            log: format!("cannot write into `{}`: {err}", dir.display()),
        }),
    };
    (v.iface, verdict)
}
