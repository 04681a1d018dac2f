//! Elementwise processes (unary, binary, compare, select, cast, float, lookup):
//! one result per element, registered.

use crate::ir::{Network, Sched, Src};

/// The verifier's rule: the operands are all static, or every stream operand
/// shares one schedule; the result is static, or that schedule one cycle later.
pub fn check(net: &Network, operands: &[Src], errs: &mut Vec<String>) -> Option<Sched> {
    let streams: Vec<Sched> = operands
        .iter()
        .map(|s| match s {
            Src::Bus(x) => net.nodes[*x].sched.clone(),
            Src::Const(_) => Sched::Static,
        })
        .filter(|s| !s.is_static())
        .collect();
    match streams.first() {
        None => Some(Sched::Static),
        Some(s) if streams.iter().all(|o| o == s) => Some(s.delayed(1)),
        Some(_) => {
            errs.push(format!("operands are not aligned: {streams:?}"));
            None
        }
    }
}

/// Entries of the ROM that holds a look-up table of `len` entries: a power of
/// two, so that the index's low bits address it (the index is in range whenever
/// it is valid, and any value reads something otherwise).
pub fn rom_size(len: usize) -> usize {
    len.max(2).next_power_of_two()
}
