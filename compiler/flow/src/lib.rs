//! Drivers for the external hardware tools: GHDL (simulation and synthesis),
//! yosys, nextpnr-ice40 and the icestorm tools, and the reports built from them.
//!
//! Each driver runs a tool in a work directory, keeps its output, and turns
//! "the tool is missing" and "the tool failed" into errors that say what to do.

pub mod build;
pub mod device;
pub mod estimate;
pub mod ghdl;
pub mod hardware;
pub mod tools;
pub mod verilog;
