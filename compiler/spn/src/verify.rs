//! The process-network verifier.
//!
//! Invariants the simulator and the VHDL emitter rely on:
//! 1. operands are buses defined earlier (the node order is a topological order);
//! 2. `input i` drives input port i's elements on consecutive cycles from the frame
//!    start; `param i` is a parameter port and static;
//! 3. an elementwise process has bus operands that are all static or that all share
//!    one schedule; it is static when they all are, and otherwise registered: its
//!    schedule is theirs one cycle later;
//! 4. every bus is wide enough for its range (two's complement), at most 128 bits;
//! 5. `reduce`, `slice` and `cumsum` take a stream with exactly the elements of their
//!    logical shape per frame; their schedules are [`crate::sched`]'s;
//! 6. `broadcast` stores a dense stream of the `from` shape and answers a dense
//!    timing stream of the `to` shape that starts in the same cycle, one cycle later;
//! 7. `bincount` operands share one schedule; its results stream out after the frame;
//! 8. `delay n` (n >= 1) keeps the range and shifts the schedule by n;
//! 9. `pack` reads streams whose elements fill whole groups and leave within a
//!    frame period; its schedule is [`proc::pack::schedule`]'s;
//! 10. outputs read streams (never static buses) with one frame's elements;
//! 11. `load` reads one bank of a state along a timing stream with one element per
//!     element of the bank; each state's `next` output has a stream per bank, every
//!     element is read before it is written within a frame, and the frame period
//!     lets each write land before the next frame's read ([`proc::load`]).

use crate::ir::{Bus, Network, ProcKind, Sched};
use crate::proc;
use cranelift_entity::EntityRef;
use hissc_aop::types::numel;

/// A broken invariant at a bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// Where (None: the network as a whole).
    pub bus: Option<Bus>,
    /// What.
    pub message: String,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.bus {
            Some(b) => write!(f, "{b}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Checks every invariant.
pub fn verify(net: &Network) -> Result<(), Vec<VerifyError>> {
    let mut errs = Vec::new();
    for (b, node) in net.nodes.iter() {
        let mut fails = Vec::new();
        if let Some(op) = node.kind.inputs().into_iter().find(|i| *i >= b) {
            errs.push(VerifyError {
                bus: Some(b),
                message: format!("operand {op} is not defined before {b}"),
            });
            continue;
        }
        if node.width > 128 || node.width < node.range.signed_bits() {
            fails.push(format!("width {} cannot hold {}", node.width, node.range));
        }
        // each kind's rule, in its own module: the schedule it must have
        let e = &mut fails;
        let want: Option<Sched> = match &node.kind {
            ProcKind::Input(i, lane) => proc::ports::check_input(net, node, *i, *lane, e),
            ProcKind::Param(i) => proc::ports::check_param(net, *i, e),
            k @ (crate::elementwise_kinds!()) => proc::elementwise::check(net, &k.operands(), e),
            ProcKind::Reduce(p) => proc::reduce::check(net, p, e),
            ProcKind::Slice(a, shape, sel) => proc::slice::check(net, *a, shape, sel, e),
            ProcKind::Scan(_, a, count) => proc::scan::check(net, *a, *count, e),
            ProcKind::Segment(p) => proc::segment::check(net, p, e),
            ProcKind::Bincount(p) => proc::bincount::check(net, p, e),
            ProcKind::Broadcast(p) => proc::broadcast::check(net, p, e),
            ProcKind::Pack { lanes, width, lane } => {
                proc::pack::check(net, lanes, *width, *lane, e)
            }
            ProcKind::Delay(a, n) => proc::delay::check(net, node, *a, *n, e),
            ProcKind::Load {
                state,
                lane,
                timing,
            } => proc::load::check(net, *state, *lane, *timing, e),
            ProcKind::Iota {
                timing,
                first,
                step,
                wrap,
            } => proc::iota::check(net, b, *timing, (*first, *step, *wrap), e),
            ProcKind::Merge { srcs, blocks, reps } => {
                proc::merge::check(net, srcs, blocks, *reps, e)
            }
        };
        if let Some(w) = want {
            if w != node.sched {
                fails.push(format!("schedule {:?}, expected {w:?}", node.sched));
            }
        }
        errs.extend(fails.into_iter().map(|message| VerifyError {
            bus: Some(b),
            message,
        }));
    }
    for o in &net.outputs {
        if o.lanes.is_empty() || o.lanes.iter().any(|b| b.index() >= net.nodes.len()) {
            errs.push(VerifyError {
                bus: None,
                message: format!("output {} reads no bus", o.name),
            });
            continue;
        }
        let s = &net.nodes[o.lanes[0]].sched;
        let lanes = o.lanes.len();
        if s.is_static() || s.elements() as usize * lanes != numel(&o.shape) {
            errs.push(VerifyError {
                bus: Some(o.lanes[0]),
                message: format!(
                    "output {} has {} elements per frame, {lanes} lanes of {:?}",
                    o.name,
                    numel(&o.shape),
                    s
                ),
            });
        }
        if let Some(m) = &o.mask {
            let ok = m.len() == lanes
                && m.iter().all(|&x| {
                    x.index() < net.nodes.len()
                        && net.nodes[x].sched == *s
                        && net.nodes[x].range.within(hissc_aop::Interval::new(0, 1))
                });
            if !ok {
                errs.push(VerifyError {
                    bus: Some(o.lanes[0]),
                    message: format!(
                        "the mask of output {} is not a bool stream per lane in step with it",
                        o.name
                    ),
                });
            }
        }
        for &b in &o.lanes[1..] {
            if net.nodes[b].sched != *s {
                errs.push(VerifyError {
                    bus: Some(b),
                    message: format!("lanes of output {} are valid at different times", o.name),
                });
            }
        }
    }
    let mut state_errs = Vec::new();
    proc::load::check_states(net, &mut state_errs);
    errs.extend(
        state_errs
            .into_iter()
            .map(|message| VerifyError { bus: None, message }),
    );
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}
