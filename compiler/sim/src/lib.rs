//! The cycle-accurate simulator of hissc process networks.
//!
//! [`flat`] turns a verified network into dense tables, [`engine`] evaluates them
//! one clock edge at a time without allocating, and [`run`] streams frames through
//! it, collects outputs and records the SME-style trace of the top-level signals.

pub mod engine;
pub mod flat;
pub mod run;

pub use run::{
    simulate, simulate_args, simulate_bound, simulate_streams, SimResult, Stream, TraceRow,
};
