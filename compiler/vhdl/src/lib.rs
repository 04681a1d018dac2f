//! The VHDL back end of hissc.
//!
//! [`interface`] names the entity's ports ([`namer`] keeps them legal and
//! unique), [`emit`] writes the synthesizable design (numeric_std, VHDL-2008,
//! comments naming the Python line of every process) and [`tb`] the
//! trace-replay testbench with its vector file; [`axis`] the AXI4-Stream
//! wrapper and its testbench; [`host`] the narrow host interface that wraps a
//! design whose ports outnumber a package's pins.

pub mod axis;
pub mod emit;
pub mod host;
pub mod interface;
pub mod namer;
pub mod tb;

use hissc_diagnostics::SourceFile;
use hissc_spn::Network;

/// The design and its interface.
pub struct Vhdl {
    /// Entity and ports.
    pub iface: interface::Interface,
    /// The design's VHDL text.
    pub design: String,
}

/// The design and, with `--interface axis`, its AXI4-Stream wrapper.
pub struct AxisVhdl {
    /// The design, with its clock enable.
    pub vhdl: Vhdl,
    /// The wrapper entity `<kernel>_axis`.
    pub wrapper: String,
}

impl AxisVhdl {
    /// Both in one file: the design, then the wrapper.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.vhdl.design, self.wrapper)
    }
}

/// Emits the design for a verified network.
pub fn emit(net: &Network, src: &SourceFile) -> Vhdl {
    emit_with(net, src, false)
}

/// Emits the design with a clock enable and its AXI4-Stream wrapper
/// (`--interface axis`).
pub fn emit_axis(net: &Network, src: &SourceFile) -> AxisVhdl {
    let vhdl = emit_with(net, src, true);
    let wrapper = axis::wrapper(&vhdl.iface, &hissc_spn::axis::Plan::new(net));
    AxisVhdl { vhdl, wrapper }
}

/// The design, with a clock enable when `enable`.
fn emit_with(net: &Network, src: &SourceFile, enable: bool) -> Vhdl {
    let mut namer = namer::Namer::new();
    let iface = interface::interface(net, &mut namer);
    let design = emit::design_with(net, &iface, src, enable);
    Vhdl { iface, design }
}
