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
//!    frame period; its schedule is [`sched::pack`]'s;
//! 10. outputs read streams (never static buses) with one frame's elements.

use crate::ir::{Bus, Network, ProcKind, Sched, Src};
use crate::sched;
use cranelift_entity::EntityRef;
use hissc_aop::types::numel;
use hissc_aop::verify::broadcastable;

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
        let mut fail = |m: String| {
            errs.push(VerifyError {
                bus: Some(b),
                message: m,
            })
        };
        if let Some(op) = node.kind.inputs().into_iter().find(|i| *i >= b) {
            fail(format!("operand {op} is not defined before {b}"));
            continue;
        }
        if node.width > 128 || node.width < node.range.signed_bits() {
            fail(format!("width {} cannot hold {}", node.width, node.range));
        }
        let sched_of = |s: &Src| match s {
            Src::Bus(x) => net.nodes[*x].sched.clone(),
            Src::Const(_) => Sched::Static,
        };
        let stream_of = |x: &Bus, n: usize| -> Option<Sched> {
            let s = net.nodes[*x].sched.clone();
            (!s.is_static() && s.elements() as usize == n).then_some(s)
        };
        let want: Option<Sched> = match &node.kind {
            ProcKind::Input(i, lane) => match net.inputs.get(*i as usize) {
                Some(p) => {
                    let n = numel(&p.shape) as u32;
                    if *lane >= p.lanes || !n.is_multiple_of(p.lanes) {
                        fail(format!(
                            "lane {lane} of a port of {n} elements in {} lanes",
                            p.lanes
                        ));
                    }
                    if !node.range.within(p.range) {
                        fail(format!(
                            "range {} outside the port's {}",
                            node.range, p.range
                        ));
                    }
                    Some(Sched::dense(n / p.lanes.max(1), 0))
                }
                None => {
                    fail(format!("no input port {i}"));
                    None
                }
            },
            ProcKind::Param(i) => {
                if net.params.get(*i as usize).is_none() {
                    fail(format!("no parameter port {i}"));
                }
                Some(Sched::Static)
            }
            k @ (crate::elementwise_kinds!()) => {
                let srcs = k.operands();
                let streams: Vec<Sched> = srcs
                    .iter()
                    .map(sched_of)
                    .filter(|s| !s.is_static())
                    .collect();
                match streams.first() {
                    None => Some(Sched::Static),
                    Some(s) if streams.iter().all(|o| o == s) => Some(s.delayed(1)),
                    Some(_) => {
                        fail(format!("operands are not aligned: {streams:?}"));
                        None
                    }
                }
            }
            ProcKind::Reduce(_, _, a, shape, axes) => match stream_of(a, numel(shape)) {
                Some(s)
                    if !axes.is_empty()
                        && axes.windows(2).all(|w| w[0] < w[1])
                        && axes.iter().all(|&x| (x as usize) < shape.len()) =>
                {
                    Some(sched::reduce(&s, shape, axes))
                }
                _ => {
                    fail(format!(
                        "reduce of {shape:?} over {axes:?} needs a stream of {} elements",
                        numel(shape)
                    ));
                    None
                }
            },
            ProcKind::Slice(a, shape, sel) => match stream_of(a, numel(shape)) {
                Some(s) if sel.len() == shape.len() => Some(sched::slice(&s, shape, sel)),
                _ => {
                    fail(format!(
                        "slice of {shape:?} needs a stream of {} elements",
                        numel(shape)
                    ));
                    None
                }
            },
            ProcKind::Scan(_, a, count) => match stream_of(a, *count as usize) {
                Some(s) => Some(s.delayed(1)),
                None => {
                    fail(format!("cumsum needs a stream of {count} elements"));
                    None
                }
            },
            ProcKind::Bincount {
                x,
                weights,
                mask,
                bins,
                count,
                float,
            } => {
                let s = net.nodes[*x].sched.clone();
                let aligned = weights.iter().chain(mask).all(|o| net.nodes[*o].sched == s);
                if *float && weights.is_none() {
                    fail("a float64 bincount without weights".into());
                    None
                } else if s.is_static() || s.elements() != *count || !aligned {
                    fail(format!(
                        "bincount needs aligned streams of {count} elements"
                    ));
                    None
                } else {
                    Some(sched::bincount(&s, *bins, *float))
                }
            }
            ProcKind::Broadcast {
                arg,
                timing,
                from,
                to,
            } => {
                let (sa, st) = (&net.nodes[*arg].sched, &net.nodes[*timing].sched);
                let dense = |s: &Sched, n: usize| *s == Sched::dense(n as u32, s.time());
                if sa.is_static() || st.is_static() || sa.time() != st.time() {
                    fail(format!(
                        "broadcast operands must be streams starting together: {sa:?}, {st:?}"
                    ));
                    None
                } else if !dense(sa, numel(from))
                    || !dense(st, numel(to))
                    || !broadcastable(from, to)
                {
                    fail(format!(
                        "cannot broadcast {from:?} ({sa:?}) to {to:?} ({st:?})"
                    ));
                    None
                } else {
                    Some(st.delayed(1))
                }
            }
            ProcKind::Pack { lanes, width, lane } => {
                let packed = sched::pack(net, lanes, *width);
                if *lane >= *width {
                    fail(format!("pack drives element {lane} of groups of {width}"));
                    None
                } else if let Some((s, _)) = packed {
                    Some(s)
                } else {
                    fail(format!(
                        "pack of {} lanes cannot fill groups of {width} within a frame",
                        lanes.len()
                    ));
                    None
                }
            }
            ProcKind::Delay(a, n) => {
                if *n == 0 {
                    fail("delay of 0 cycles".into());
                }
                if node.range != net.nodes[*a].range {
                    fail("a delay changes the range".into());
                }
                Some(net.nodes[*a].sched.delayed(*n))
            }
        };
        if let Some(w) = want {
            if w != node.sched {
                errs.push(VerifyError {
                    bus: Some(b),
                    message: format!("schedule {:?}, expected {w:?}", node.sched),
                });
            }
        }
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
        for &b in &o.lanes[1..] {
            if net.nodes[b].sched != *s {
                errs.push(VerifyError {
                    bus: Some(b),
                    message: format!("lanes of output {} are valid at different times", o.name),
                });
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}
