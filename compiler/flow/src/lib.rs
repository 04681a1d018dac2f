//! Drivers for the external hardware tools, starting with GHDL.
//!
//! Each driver runs a tool in a work directory, keeps its output, and turns
//! "the tool is missing" and "the tool failed" into errors that say what to do.

pub mod ghdl;
pub mod hardware;
