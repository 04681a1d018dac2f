//! The AXI4-Stream interface's plan (`--interface axis`): what the wrapper
//! around a network counts, shared by the VHDL wrapper and the simulator's
//! model of it, so that the two cannot disagree.
//!
//! The wrapper gives the whole network one clock enable. Time inside the
//! network only passes on enabled cycles, so the network sees exactly what the
//! native interface promises — a frame's elements on consecutive cycles, idle
//! cycles only between frames — whatever the producers and consumers do:
//!
//! - between frames (the frame's phase has reached [`Plan::period`]) the
//!   network runs idle cycles, which drain the outputs of the frames before;
//!   a new frame starts on a cycle when every input stream offers its first beat;
//! - inside a frame, a cycle is enabled only when every input stream that still
//!   has beats in this frame offers one (`TVALID`); that cycle takes them
//!   (`TREADY`), so a producer that pauses pauses the network;
//! - every output has a queue of [`FIFO_DEPTH`] beats; a cycle is enabled only
//!   when each queue has room for the beat the cycle may produce, so a consumer
//!   that stalls (`TREADY` low) stalls the network, and nothing is lost or
//!   duplicated.

use crate::ir::Network;
use hissc_aop::types::numel;

/// Beats each output queue holds: one for the beat on the bus, one for the beat
/// the network produces in the cycle the consumer takes it, so a consumer that
/// is always ready never stalls the network.
pub const FIFO_DEPTH: usize = 2;

/// What the wrapper of a network counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Enabled cycles from a frame's start to the earliest start of the next.
    pub period: u32,
    /// Per input stream: its beats (valid cycles) per frame.
    pub in_beats: Vec<u32>,
    /// Per output (the states' next values included): its beats per frame
    /// (`TLAST` on the last).
    pub out_beats: Vec<u32>,
}

impl Plan {
    /// The plan of `net`.
    pub fn new(net: &Network) -> Plan {
        let beats = |n: usize, lanes: usize| (n as u32).div_ceil(lanes.max(1) as u32);
        Plan {
            period: net.frame_period().max(1),
            in_beats: net
                .inputs
                .iter()
                .map(|p| beats(numel(&p.shape), p.lanes as usize))
                .collect(),
            out_beats: net
                .outputs
                .iter()
                .map(|o| beats(numel(&o.shape), o.lanes.len()))
                .collect(),
        }
    }
}
