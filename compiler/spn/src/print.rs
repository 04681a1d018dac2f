//! The text form of the process network (the `--emit spn` output).
//!
//! ```text
//! network threshold_sum {
//!   input frame: u16[32, 32]
//!   param t: u16
//!   b0 = input 0 : s17 [0, 65535] at 0 [0+1024]
//!   b1 = param 0 : s17 [0, 65535] static
//!   b2 = gt b0, b1 : s2 [0, 1] at 1 [0+1024] @206..215               ; kernel.py:8
//!   b3 = delay b0, 1 : s17 [0, 65535] at 1 [0+1024]
//!   b4 = select b2, b3, #0 : s17 [0, 65535] at 2 [0+1024] @197..226  ; kernel.py:8
//!   b5 = reduce.sum.u64 b4, [1024], [] : s27 [0, 67107840] at 1026 [0+1] @197..232
//!   output out: u64 = b5
//! }
//! ```
//!
//! Each line is a process and the bus it drives: the operation, then the bus's
//! width in bits (two's complement), the values it can carry, and when it
//! carries them: from a cycle after the start of a frame, in runs `start+length`
//! of consecutive cycles.

use crate::ir::{Bincount, Broadcast, Reduce, Segment};
use crate::ir::{LaneView, Network, ProcKind, Sched, Src};
use hissc_aop::types::Type;
use hissc_aop::Interval;
use hissc_diagnostics::SourceFile;
use std::fmt::Write;

fn src(s: &Src) -> String {
    match s {
        Src::Bus(b) => b.to_string(),
        Src::Const(c) => format!("#{c}"),
    }
}

fn dims<T: std::fmt::Display>(d: &[T]) -> String {
    let v: Vec<String> = d.iter().map(|x| x.to_string()).collect();
    format!("[{}]", v.join(", "))
}

/// The mnemonic and operands of a process.
pub fn op_text(k: &ProcKind) -> String {
    match k {
        ProcKind::Input(i, 0) => format!("input {i}"),
        ProcKind::Input(i, l) => format!("input {i}, {l}"),
        ProcKind::Param(i) => format!("param {i}"),
        ProcKind::Unary(op, d, a) => format!("{}.{d} {}", op.name(), src(a)),
        ProcKind::Binary(op, d, a, b) => format!("{}.{d} {}, {}", op.name(), src(a), src(b)),
        ProcKind::Compare(op, a, b) => format!("{} {}, {}", op.name(), src(a), src(b)),
        ProcKind::Select(c, a, b) => format!("select {}, {}, {}", src(c), src(a), src(b)),
        ProcKind::Cast(d, a) => format!("cast.{d} {}", src(a)),
        ProcKind::Float(a) => format!("float {}", src(a)),
        ProcKind::Pack { lanes, width, lane } => {
            let ls: Vec<String> = lanes.iter().map(|b| b.to_string()).collect();
            format!("pack {}, {width}, {lane}", ls.join(", "))
        }
        ProcKind::Reduce(Reduce {
            op,
            dtype: d,
            arg: a,
            shape,
            axes,
        }) => format!(
            "reduce.{}.{d} {a}, {}, {}",
            op.name(),
            dims(shape),
            dims(axes)
        ),
        ProcKind::Slice(a, shape, sel) => {
            let f = |i: usize| dims(&sel.iter().map(|s| [s.0, s.1, s.2][i]).collect::<Vec<_>>());
            format!("slice {a}, {}, {}, {}, {}", dims(shape), f(0), f(1), f(2))
        }
        ProcKind::Scan(d, a, n) => format!("cumsum.{d} {a}, {n}"),
        ProcKind::Segment(Segment {
            op,
            d,
            arg,
            width,
            lane,
            lanes,
        }) => format!("segment.{}.{d} {arg}, {width}, {lane}, {lanes}", op.name()),
        ProcKind::Lookup(t, a) => format!("lookup {}, {}", src(a), dims(t)),
        ProcKind::Bincount(Bincount {
            x,
            weights,
            mask,
            bins,
            count,
            float,
        }) => {
            // w: float64 sums of weights, i: integer sums of weights, m: mask
            let w = match (weights, float) {
                (None, _) => "",
                (Some(_), true) => "w",
                (Some(_), false) => "i",
            };
            let m = if mask.is_some() { "m" } else { "" };
            let suffix = if w.is_empty() && m.is_empty() {
                String::new()
            } else {
                format!(".{w}{m}")
            };
            let mut args = vec![x.to_string()];
            args.extend(weights.iter().chain(mask).map(|b| b.to_string()));
            format!("bincount{suffix} {}, {bins}, {count}", args.join(", "))
        }
        ProcKind::Broadcast(Broadcast {
            arg,
            timing,
            from,
            to,
            view,
        }) => {
            let v = if *view == LaneView::WHOLE {
                String::new()
            } else {
                format!(", {}, {}, {}", view.lane, view.lanes, view.arg_lanes)
            };
            format!("broadcast {arg}, {timing}, {}, {}{v}", dims(from), dims(to))
        }
        ProcKind::Delay(a, n) => format!("delay {a}, {n}"),
        ProcKind::Load {
            state,
            lane,
            timing,
        } => format!("load {state}, {lane}, {timing}"),
        ProcKind::Iota {
            timing,
            first,
            step,
            wrap: None,
        } => format!("iota {timing}, {first}, {step}"),
        ProcKind::Iota {
            timing,
            first,
            step,
            wrap: Some(w),
        } => format!("iota {timing}, {first}, {step}, {w}"),
        ProcKind::Merge { srcs, blocks, reps } => {
            let s: Vec<String> = srcs.iter().map(|b| b.to_string()).collect();
            let k: Vec<String> = blocks.iter().map(|b| b.to_string()).collect();
            format!("merge {}, [{}], {reps}", s.join(", "), k.join(", "))
        }
    }
}

/// `at 2 [0+1024]`: valid from cycle 2 after the frame start, 1024 elements in a row.
pub fn sched_text(s: &Sched) -> String {
    match s {
        Sched::Static => "static".into(),
        Sched::Stream { t, pat } => {
            let runs: Vec<String> = pat.runs().iter().map(|(s, l)| format!("{s}+{l}")).collect();
            format!("at {t} [{}]", runs.join(", "))
        }
    }
}

/// Prints a network; with `source`, lines with a span get a `; file:line` comment.
pub fn print(n: &Network, source: Option<&SourceFile>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "network {} {{", n.name);
    if n.min_period > 0 {
        let _ = writeln!(out, "  period {}", n.min_period);
    }
    for (kind, ports) in [("input", &n.inputs), ("param", &n.params)] {
        for p in ports {
            let range = if p.range == Interval::of(p.dtype) {
                String::new()
            } else {
                format!(" [{}, {}]", p.range.lo, p.range.hi)
            };
            let ty = Type::array(p.dtype, p.shape.clone());
            let lanes = if p.lanes > 1 {
                format!(" x{}", p.lanes)
            } else {
                String::new()
            };
            let _ = writeln!(out, "  {kind} {}: {ty}{range}{lanes}", p.name);
        }
    }
    for (b, node) in n.nodes.iter() {
        let span = if node.span.is_none() {
            String::new()
        } else {
            format!(" @{}..{}", node.span.start, node.span.end)
        };
        let line = format!(
            "  {b} = {} : s{} [{}, {}] {}{span}",
            op_text(&node.kind),
            node.width,
            node.range.lo,
            node.range.hi,
            sched_text(&node.sched)
        );
        match source {
            Some(s) if !node.span.is_none() => {
                let _ = writeln!(out, "{line:<64} ; {}", s.loc(node.span));
            }
            _ => {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    for o in &n.outputs {
        let ty = Type::array(o.dtype, o.shape.clone());
        let lanes: Vec<String> = o.lanes.iter().map(|b| b.to_string()).collect();
        let mask = match &o.mask {
            Some(m) => {
                let m: Vec<String> = m.iter().map(|b| b.to_string()).collect();
                format!(" where {}", m.join(", "))
            }
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "  output {}: {ty} = {}{mask}",
            o.name,
            lanes.join(", ")
        );
    }
    for s in &n.states {
        let ty = Type::array(s.dtype, s.shape.clone());
        let next = &n.outputs[s.next as usize].name;
        let _ = writeln!(out, "  state {}: {ty} x{} next {next}", s.name, s.lanes);
    }
    out.push_str("}\n");
    out
}
