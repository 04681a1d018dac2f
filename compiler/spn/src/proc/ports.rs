//! `input i lane` and `param i`: the network's ports.

use crate::ir::{Network, Node, Sched};
use hissc_aop::types::numel;

/// The verifier's rule for lane `lane` of input port `i`: the port exists, the
/// lane divides its elements, the bus keeps the port's range; its elements
/// arrive on consecutive cycles from the frame start.
pub fn check_input(
    net: &Network,
    node: &Node,
    i: u32,
    lane: u32,
    errs: &mut Vec<String>,
) -> Option<Sched> {
    let Some(p) = net.inputs.get(i as usize) else {
        errs.push(format!("no input port {i}"));
        return None;
    };
    let n = numel(&p.shape) as u32;
    if lane >= p.lanes || !n.is_multiple_of(p.lanes) {
        errs.push(format!(
            "lane {lane} of a port of {n} elements in {} lanes",
            p.lanes
        ));
    }
    if !node.range.within(p.range) {
        errs.push(format!(
            "range {} outside the port's {}",
            node.range, p.range
        ));
    }
    Some(Sched::dense(n / p.lanes.max(1), 0))
}

/// The verifier's rule for parameter port `i`: it exists; it is static.
pub fn check_param(net: &Network, i: u32, errs: &mut Vec<String>) -> Option<Sched> {
    if net.params.get(i as usize).is_none() {
        errs.push(format!("no parameter port {i}"));
    }
    Some(Sched::Static)
}
