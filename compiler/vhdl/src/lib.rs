//! The VHDL back end of hissc.
//!
//! [`interface`] names the entity's ports ([`namer`] keeps them legal and
//! unique), [`emit`] writes the synthesizable design (numeric_std, VHDL-2008,
//! comments naming the Python line of every process) and [`tb`] the
//! trace-replay testbench with its vector file; [`axis`] the AXI4-Stream
//! wrapper and its testbench.

pub mod axis;
pub mod emit;
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

/// Emits the design for a verified network.
pub fn emit(net: &Network, src: &SourceFile) -> Vhdl {
    let mut namer = namer::Namer::new();
    let iface = interface::interface(net, &mut namer);
    let design = emit::design(net, &iface, src);
    Vhdl { iface, design }
}

/// Emits the design with a clock enable and its AXI4-Stream wrapper
/// (`--interface axis`): the design's text, then the wrapper's.
pub fn emit_axis(net: &Network, src: &SourceFile) -> (Vhdl, String) {
    let mut namer = namer::Namer::new();
    let iface = interface::interface(net, &mut namer);
    let design = emit::design_with(net, &iface, src, true);
    let wrapper = axis::wrapper(&iface, &hissc_spn::axis::Plan::new(net));
    (Vhdl { iface, design }, wrapper)
}
