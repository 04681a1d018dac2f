//! The synchronous process network (SPN) of hissc, in the style of SME.
//!
//! A network is a set of clocked processes, each driving one bus. A bus carries
//! a value and, unless it is static, a `valid` flag; streams carry one element
//! per cycle. Every process reads only buses defined before it (the network is
//! acyclic) and, unless all its operands are static, registers its output, so a
//! process's schedule (when its bus carries valid elements) is known exactly at
//! compile time. That is what lets the simulator, the VHDL and the trace agree
//! cycle for cycle.
//!
//! [`lower`] builds a network from the array-op IR, [`axis`] plans its
//! AXI4-Stream wrapper, [`proc`] holds each process
//! kind's schedule, verifier rule and hardware plan, [`cost`] estimates its
//! hardware before synthesis, [`verify`] checks its
//! invariants, [`print`]/[`parse`] are its text form, [`dot`] draws it and
//! [`trace`] holds its top-level signals cycle by cycle.

pub mod axis;
pub mod cost;
pub mod dot;
pub mod ir;
pub mod lanes;
pub mod lower;
pub mod parse;
pub mod print;
pub mod proc;
pub mod trace;
pub mod verify;

pub use ir::{
    Bus, LaneView, Network, Node, Output, Pattern, Port, ProcKind, Sched, Src, StatePort,
};
