//! Delay lines: a bus `n` cycles later.

use crate::ir::{Bus, Network, Node, Sched};

/// Delay lines of at least this many bits keep their elements in block RAM (a
/// ring of `cycles - 1` words and a registered read) instead of a shift register
/// of flip-flops: 512 bits is an eighth of an iCE40 block RAM and about 500
/// logic cells as registers.
pub const RAM_BITS: u64 = 512;

/// Whether a delay of `cycles` cycles on a bus of `width` bits lives in block
/// RAM ([`RAM_BITS`]); the VHDL, the simulator and the resource estimate ask here.
pub fn in_ram(cycles: u32, width: u32) -> bool {
    cycles >= 16 && cycles as u64 * (width as u64 + 1) >= RAM_BITS
}

/// The verifier's rule: at least one cycle, the range unchanged; the schedule
/// is the operand's `n` cycles later.
pub fn check(net: &Network, node: &Node, a: Bus, n: u32, errs: &mut Vec<String>) -> Option<Sched> {
    if n == 0 {
        errs.push("delay of 0 cycles".into());
    }
    if node.range != net.nodes[a].range {
        errs.push("a delay changes the range".into());
    }
    Some(net.nodes[a].sched.delayed(n))
}
