//! The cycle-accurate simulator of hissc process networks.
//!
//! [`flat`] turns a verified network into dense tables, [`engine`] evaluates them
//! a block of up to 1024 clock cycles at a time (one dispatch per process per
//! block, no allocation per cycle), and [`run`] streams frames through it,
//! collects outputs and records the SME-style trace of the top-level signals;
//! [`axis`] does the same through the AXI4-Stream wrapper, under back-pressure.

pub mod axis;
pub mod engine;
pub mod flat;
pub mod run;
mod slots;

pub use run::{
    simulate, simulate_args, simulate_bound, simulate_streams, SimResult, Stream, Streamer,
    TraceRow,
};
