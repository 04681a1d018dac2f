//! Lowering the array-op IR to a process network.
//!
//! Every array value becomes a stream, one element per cycle in C order; scalar
//! parameters become static buses; constants are folded into their users.
//! Each elementwise instruction becomes one registered process (one pipeline
//! stage); operands that arrive earlier than others are delayed so that every
//! process sees aligned elements. Broadcasts of a row or column become a small
//! memory that stores the short stream and replays it against the long one.
//! Bus widths come from range analysis (`hissc_aop::passes::ranges`).
//!
//! ```text
//! v2: bool[32, 32] = gt v0, v1             b2 = gt b0, b1 : s2 [0, 1] dense 1024 at 1
//! v4: u16[32, 32] = where v2, v0, v3   =>  b3 = delay b0, 1 : s17 ... dense 1024 at 1
//!                                          b4 = select b2, b3, #0 : s17 ... dense 1024 at 2
//! ```

use crate::ir::{Bus, Network, Node, Output, Port, ProcKind, Sched, Src};
use cranelift_entity::{PrimaryMap, SecondaryMap};
use hissc_aop::passes::ranges::{ranges, Ranges};
use hissc_aop::types::numel;
use hissc_aop::{semantics, Inst, Interval, Kernel, Shape, Value};
use hissc_diagnostics::{Code, Diagnostic, Span};
use std::collections::HashMap;

/// How an IR value is available in the network.
#[derive(Clone, Debug)]
enum L {
    /// A compile-time constant.
    Const(i128),
    /// A bus.
    Bus(Bus),
    /// A broadcast of another value, built where it is used (it needs the timing of
    /// the stream it is combined with).
    Deferred(Value, Shape, Shape),
}

struct Lowering<'a> {
    k: &'a Kernel,
    ranges: Ranges,
    net: Network,
    map: SecondaryMap<Value, Option<L>>,
    delays: HashMap<(Bus, u32), Bus>,
    broadcasts: HashMap<(Value, Bus), Bus>,
    diags: Vec<Diagnostic>,
}

/// Lowers a verified kernel; constructs that cannot stream are diagnostics.
pub fn lower(k: &Kernel) -> Result<Network, Vec<Diagnostic>> {
    let mut l = Lowering {
        k,
        ranges: ranges(k),
        net: Network {
            name: k.name.clone(),
            inputs: Vec::new(),
            params: Vec::new(),
            nodes: PrimaryMap::new(),
            outputs: Vec::new(),
        },
        map: SecondaryMap::new(),
        delays: HashMap::new(),
        broadcasts: HashMap::new(),
        diags: Vec::new(),
    };
    for p in &k.params {
        let port = Port {
            name: p.name.clone(),
            dtype: p.ty.dtype,
            shape: p.ty.shape.clone(),
            range: p.range,
        };
        if p.is_stream() {
            l.net.inputs.push(port);
        } else {
            l.net.params.push(port);
        }
    }
    for (v, _) in k.insts.iter() {
        if let Some(x) = l.inst(v) {
            l.map[v] = Some(x);
        } else {
            return Err(l.diags);
        }
    }
    let n = k.outputs.len();
    for (i, &o) in k.outputs.iter().enumerate() {
        let span = k.insts[o].span;
        let name = if n == 1 {
            "out".to_string()
        } else {
            format!("out{i}")
        };
        let ty = k.ty(o).clone();
        match l.map[o].clone() {
            Some(L::Bus(b)) if !l.net.nodes[b].sched.is_static() => {
                l.net.outputs.push(Output {
                    name,
                    bus: b,
                    dtype: ty.dtype,
                    shape: ty.shape,
                });
            }
            _ => l.diags.push(
                Diagnostic::error(
                    Code::NOT_STREAMABLE,
                    "this output does not depend on any input stream",
                )
                .primary(span, "constant during a frame")
                .help("outputs must be computed from array inputs; compute constants on the host"),
            ),
        }
    }
    if l.diags.is_empty() {
        Ok(l.net)
    } else {
        Err(l.diags)
    }
}

impl Lowering<'_> {
    fn node(&mut self, kind: ProcKind, range: Interval, sched: Sched, span: Span) -> Bus {
        self.net.nodes.push(Node {
            kind,
            width: range.signed_bits(),
            range,
            sched,
            span,
        })
    }

    fn sched(&self, b: Bus) -> Sched {
        self.net.nodes[b].sched
    }

    /// The bus `b`, `d` cycles later (shared between users).
    fn delay(&mut self, b: Bus, d: u32) -> Bus {
        if d == 0 {
            return b;
        }
        if let Some(&x) = self.delays.get(&(b, d)) {
            return x;
        }
        let n = &self.net.nodes[b];
        let (range, sched, span) = (n.range, n.sched.delayed(d), n.span);
        let x = self.node(ProcKind::Delay(b, d), range, sched, span);
        self.delays.insert((b, d), x);
        x
    }

    fn not_streamable(&mut self, span: Span, what: &str, help: &str) -> Option<L> {
        self.diags.push(
            Diagnostic::error(Code::NOT_STREAMABLE, what.to_string())
                .primary(span, "cannot be computed in one pass over the stream")
                .help(help.to_string()),
        );
        None
    }

    fn inst(&mut self, v: Value) -> Option<L> {
        let d = &self.k.insts[v];
        let (span, range) = (d.span, self.ranges[v]);
        match &d.inst {
            Inst::Input(i) => {
                let p = &self.k.params[*i as usize];
                Some(L::Bus(if p.is_stream() {
                    let idx = self
                        .net
                        .inputs
                        .iter()
                        .position(|q| q.name == p.name)
                        .unwrap_or(0) as u32;
                    let n = numel(&p.ty.shape) as u32;
                    let sched = if n == 1 {
                        Sched::One { t: 0 }
                    } else {
                        Sched::Dense { n, t: 0 }
                    };
                    self.node(ProcKind::Input(idx), p.range, sched, p.span)
                } else {
                    let idx = self
                        .net
                        .params
                        .iter()
                        .position(|q| q.name == p.name)
                        .unwrap_or(0) as u32;
                    self.node(ProcKind::Param(idx), p.range, Sched::Static, p.span)
                }))
            }
            Inst::Const(c) => Some(L::Const(*c)),
            Inst::Broadcast(a) => match self.map[*a].clone()? {
                L::Const(c) => Some(L::Const(c)),
                L::Bus(b) if self.sched(b).is_static() => Some(L::Bus(b)),
                _ => Some(L::Deferred(
                    *a,
                    self.k.ty(*a).shape.clone(),
                    d.ty.shape.clone(),
                )),
            },
            Inst::Unary(..)
            | Inst::Binary(..)
            | Inst::Compare(..)
            | Inst::Where(..)
            | Inst::Cast(..) => self.elementwise(v, range, span),
            Inst::Reduce(op, a, axes) => {
                if !axes.is_empty() {
                    return self.not_streamable(
                        span,
                        "reductions along an axis are not implemented yet in hardware",
                        "reduce over the whole array, or run this kernel with `hissc run` until the next release",
                    );
                }
                let b = match self.map[*a].clone()? {
                    L::Bus(b) if !self.sched(b).is_static() => b,
                    _ => {
                        return self.not_streamable(
                            span,
                            "this reduction does not depend on any input stream",
                            "reduce an array computed from the kernel's inputs",
                        )
                    }
                };
                let s = self.sched(b);
                let kind = ProcKind::Reduce(*op, d.ty.dtype, b, s.elements());
                Some(L::Bus(self.node(
                    kind,
                    range,
                    Sched::One {
                        t: s.time() + s.elements(),
                    },
                    span,
                )))
            }
        }
    }

    fn elementwise(&mut self, v: Value, range: Interval, span: Span) -> Option<L> {
        let d = &self.k.insts[v];
        let dtype = d.ty.dtype;
        let args = d.inst.args();
        let lowered: Vec<L> = args
            .iter()
            .map(|a| self.map[*a].clone())
            .collect::<Option<_>>()?;
        // Constant folding.
        if lowered.iter().all(|l| matches!(l, L::Const(_))) {
            let c: Vec<i128> = lowered
                .iter()
                .map(|l| if let L::Const(c) = l { *c } else { 0 })
                .collect();
            let value = match &d.inst {
                Inst::Unary(op, _) => semantics::unary(*op, dtype, c[0]),
                Inst::Binary(op, ..) => semantics::binary(*op, dtype, c[0], c[1]),
                Inst::Compare(op, ..) => op.eval(c[0], c[1]) as i128,
                Inst::Where(..) => {
                    if c[0] != 0 {
                        c[1]
                    } else {
                        c[2]
                    }
                }
                _ => dtype.wrap(c[0]),
            };
            return Some(L::Const(value));
        }
        // The streams among the operands must share one pattern.
        let streams: Vec<Bus> = lowered
            .iter()
            .filter_map(|l| match l {
                L::Bus(b) if !self.sched(*b).is_static() => Some(*b),
                _ => None,
            })
            .collect();
        if let Some(&first) = streams.first() {
            if streams
                .iter()
                .any(|b| !self.sched(*b).same_pattern(self.sched(first)))
            {
                let one = streams
                    .iter()
                    .any(|b| matches!(self.sched(*b), Sched::One { .. }));
                let (what, help) = if one {
                    (
                        "a value computed from the whole frame is combined with the frame's own elements",
                        "the hardware streams each frame once; compute the frame-wide value in one kernel and apply it in the next frame or on the host",
                    )
                } else {
                    (
                        "streams of different lengths are combined elementwise",
                        "combine arrays of the same shape",
                    )
                };
                return self.not_streamable(span, what, help);
            }
        }
        // Build deferred broadcasts against the first stream operand.
        let mut srcs: Vec<Src> = Vec::new();
        for l in &lowered {
            srcs.push(match l {
                L::Const(c) => Src::Const(*c),
                L::Bus(b) => Src::Bus(*b),
                L::Deferred(a, from, to) => {
                    let Some(&timing) = streams.first() else {
                        return self.not_streamable(
                            span,
                            "a broadcast of an array against nothing that streams",
                            "combine the row or column with an array input of the full shape",
                        );
                    };
                    let arg = match self.map[*a].clone()? {
                        L::Bus(b) => b,
                        _ => {
                            return self.not_streamable(span, "a broadcast of a constant array", "")
                        }
                    };
                    let key = (*a, timing);
                    let bus = if let Some(&b) = self.broadcasts.get(&key) {
                        b
                    } else {
                        // the stored stream and the timing stream start in the same cycle
                        let (ta, tt) = (self.sched(arg).time(), self.sched(timing).time());
                        let arg_d = self.delay(arg, tt.saturating_sub(ta));
                        let timing_d = self.delay(timing, ta.saturating_sub(tt));
                        let r = self.net.nodes[arg_d].range;
                        let kind = ProcKind::Broadcast {
                            arg: arg_d,
                            timing: timing_d,
                            from: from.clone(),
                            to: to.clone(),
                        };
                        let s = self.sched(timing_d).delayed(1);
                        let b = self.node(kind, r, s, span);
                        self.broadcasts.insert(key, b);
                        b
                    };
                    Src::Bus(bus)
                }
            });
        }
        // Align: delay every stream operand to the latest.
        let latest = srcs
            .iter()
            .filter_map(|s| match s {
                Src::Bus(b) if !self.sched(*b).is_static() => Some(self.sched(*b).time()),
                _ => None,
            })
            .max();
        let mut sched = Sched::Static;
        if let Some(t) = latest {
            for s in srcs.iter_mut() {
                if let Src::Bus(b) = *s {
                    let sb = self.sched(b);
                    if !sb.is_static() {
                        *s = Src::Bus(self.delay(b, t - sb.time()));
                        sched = sb.with_time(t + 1);
                    }
                }
            }
        }
        let kind = match &d.inst {
            Inst::Unary(op, _) => ProcKind::Unary(*op, dtype, srcs[0]),
            Inst::Binary(op, ..) => ProcKind::Binary(*op, dtype, srcs[0], srcs[1]),
            Inst::Compare(op, ..) => ProcKind::Compare(*op, srcs[0], srcs[1]),
            Inst::Where(..) => ProcKind::Select(srcs[0], srcs[1], srcs[2]),
            _ => ProcKind::Cast(dtype, srcs[0]),
        };
        Some(L::Bus(self.node(kind, range, sched, span)))
    }
}
