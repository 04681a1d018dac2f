//! `--lanes N`: widening a one-lane network so that every stream carries N
//! elements per cycle.
//!
//! The invariant every stream of the widened network keeps: a stream with `L`
//! lanes carries, in its `q`-th valid cycle of a frame, elements `q*L .. q*L+L`
//! of its array in C order, element `q*L + l` on lane `l`, all lanes valid
//! together. Each lane is an ordinary bus, so the simulator, the verifier and
//! the VHDL back end need nothing new: the pass only builds more processes.
//!
//! - Input ports get `gcd(N, elements)` lanes. Elementwise processes are
//!   replicated per lane; operands are re-aligned (delays are rebuilt, since
//!   trees change latencies).
//! - A reduction views its operand's shape as *cycle axes* and *lane axes* (the
//!   trailing axes that lie within one cycle, [`split`]); lanes that differ only
//!   in reduced lane axes are combined by a pipelined tree (one registered
//!   process per level), then one accumulator per remaining lane reduces the
//!   cycle axes. Integer sums wrap, so the tree's order gives numpy's value.
//!   A reduction over rows (the trailing axes) that the lanes do not divide
//!   folds blocks of `gcd(row, lanes)` lanes (row boundaries fall between
//!   blocks), splits each block's stream at the row boundaries with a
//!   [`ProcKind::Segment`], and a tree folds the blocks' parts of each row in
//!   the cycle where it ends (`argmax`/`argmin` fold their keys so, each lane's
//!   rank its column from a wrapping `iota`).
//! - `cumsum`: a parallel prefix over the lanes (Kogge–Stone, one level per
//!   power of two) plus the running total of the earlier cycles.
//! - `argmax`/`argmin`: keys `value * 2^K + rank` (rank reversed for argmax)
//!   through a max (min) tree and reduction; the low K bits are numpy's first index.
//! - Bin counts: one counting memory per lane, merged by an adder tree as the
//!   counts stream out; when a frame is too short to stream the bins out one per
//!   cycle, each lane's memory is split into banks by `bin mod K` and the counts
//!   leave K per cycle. Weighted counts sum integers per lane and become float64
//!   after the merge (a `float` process).
//! - Slices select lanes (and cycles) where the selection lines up with the
//!   lanes; otherwise each lane is sliced on its own and gearboxes (`pack`)
//!   queue the kept elements and let them out `gcd(lanes, kept)` per cycle.
//! - Row broadcasts are replicated per lane; a column broadcast packs its
//!   argument to one lane and stores it in every lane's memory. Where rows
//!   straddle cycles, each lane reads its own elements of the result
//!   ([`LaneView`]) from the lane of the argument that holds them all (or from
//!   the argument packed to one lane), in as many banks as the reads need.
//!
//! Anything else is a [`Code::LANES`] diagnostic at the Python expression.

use crate::ir::{Broadcast, Segment};
use crate::ir::{Bus, LaneView, Network, Node, Output, ProcKind, Sched, Src};
use crate::proc;
use crate::proc::broadcast::Streams;
use crate::proc::unravel;
use cranelift_entity::EntityRef;
use hissc_aop::passes::ranges::sum_exact;
use hissc_aop::types::numel;
use hissc_aop::{BinaryOp, CmpOp, DType, Interval, ReduceOp};
use hissc_diagnostics::{Code, Diagnostic, Severity, Span};
use std::collections::HashMap;

mod broadcast;
mod reduce;
mod stream;

/// The largest lane count: 64 lanes of 16-bit pixels at 150 MHz carry a
/// 150 Gbit/s stream, on an FPGA as large as the ECP5-85F.
pub const MAX_LANES: u32 = 64;

/// How one old bus is available in the widened network.
#[derive(Clone, Debug)]
enum W {
    /// A static bus (the same for every lane).
    Static(Bus),
    /// A stream's lanes.
    Lanes(Vec<Bus>),
    /// A selection whose elements stay on the lanes they arrived on (a slice
    /// that moves elements between lanes, before its gearbox): elementwise
    /// operations of selections alike and full reductions take it as it is,
    /// every other user gets it packed ([`Widen::dense`]) — a sum over a
    /// region of interest needs no gearbox.
    Selected(Selected),
}

/// The lanes of a selection before its gearbox ([`W::Selected`]).
#[derive(Clone, Debug)]
struct Selected {
    /// Each lane that keeps elements: its index among the source's lanes and
    /// its stream of the kept elements.
    lanes: Vec<(usize, Bus)>,
    /// The lane of the selection's first element (the gearbox takes the lanes
    /// from there on a cycle later, ahead of those before it).
    first: usize,
    /// Lanes of the packed stream.
    width: u32,
    /// The values (of the packed stream).
    range: Interval,
    /// The construct.
    span: Span,
}

impl Selected {
    /// Whether `self` and `o` keep the same elements on the same lanes.
    fn alike(&self, o: &Selected) -> bool {
        self.first == o.first
            && self.width == o.width
            && self.lanes.len() == o.lanes.len()
            && self.lanes.iter().zip(&o.lanes).all(|(a, b)| a.0 == b.0)
    }
}

/// Where the lanes fall on a shape: axes after `r` lie wholly within one cycle,
/// and axis `r` is `a` cycles of `b` lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// The axis split between cycles and lanes.
    pub r: usize,
    /// Cycles along axis `r`.
    pub a: u32,
    /// Lanes along axis `r`.
    pub b: u32,
}

impl Split {
    /// The shape of one lane's stream: the axes before `r`, then `a`.
    pub fn cycle_shape(&self, shape: &[u32]) -> Vec<u32> {
        let mut c = shape[..self.r].to_vec();
        c.push(self.a);
        c
    }

    /// The shape of one cycle's lanes: `b`, then the axes after `r`.
    pub fn lane_shape(&self, shape: &[u32]) -> Vec<u32> {
        let mut l = vec![self.b];
        l.extend_from_slice(&shape[self.r + 1..]);
        l
    }
}

/// How `lanes` consecutive elements of an array of `shape` fall on its axes, if
/// they line up with them.
pub fn split(shape: &[u32], lanes: u32) -> Option<Split> {
    let mut p = 1u32;
    for r in (0..shape.len()).rev() {
        if !lanes.is_multiple_of(p) {
            return None;
        }
        let b = lanes / p;
        if shape[r].is_multiple_of(b) {
            return Some(Split {
                r,
                a: shape[r] / b,
                b,
            });
        }
        p = p.checked_mul(shape[r])?;
    }
    None
}

/// Widens a verified one-lane network to `lanes` elements per cycle.
pub fn widen(old: &Network, lanes: u32) -> Result<Network, Vec<Diagnostic>> {
    if lanes <= 1 {
        return Ok(old.clone());
    }
    let mut net = Network {
        inputs: old.inputs.clone(),
        params: old.params.clone(),
        states: old.states.clone(),
        ..Network::new(old.name.clone())
    };
    for p in &mut net.inputs {
        p.lanes = gcd(lanes, numel(&p.shape) as u32);
    }
    let mut w = Widen {
        net,
        map: vec![None; old.nodes.len()],
        delays: HashMap::new(),
        diags: Vec::new(),
    };
    for (b, n) in old.nodes.iter() {
        match w.node_of(n) {
            Some(x) => w.map[b.index()] = Some(x),
            None => return Err(w.diags),
        }
    }
    for o in &old.outputs {
        let span = old.nodes[o.lanes[0]].span;
        for b in o.lanes.iter().chain(o.mask.iter().flatten()) {
            w.dense(*b, span)
                .ok_or_else(|| std::mem::take(&mut w.diags))?;
        }
        let mask = match &o.mask {
            Some(m) => match w.map[m[0].index()].clone() {
                Some(W::Lanes(v)) => Some(v),
                _ => None,
            },
            None => None,
        };
        // a selection's values and mask in step again (widening rebuilds delays)
        let (values, mask) = match (w.map[o.lanes[0].index()].clone(), mask) {
            (Some(W::Lanes(v)), Some(m)) if m.len() == v.len() => {
                let pairs: Vec<Vec<Bus>> =
                    v.iter().zip(&m).map(|(&x, &y)| w.align(&[x, y])).collect();
                let v: Vec<Bus> = pairs.iter().map(|p| p[0]).collect();
                let m: Vec<Bus> = pairs.iter().map(|p| p[1]).collect();
                (Some(W::Lanes(v)), Some(m))
            }
            (v, m) => (v, m),
        };
        let aligned = |v: &[Bus], m: &Option<Vec<Bus>>, net: &Network| match m {
            None => true,
            Some(m) => {
                m.len() == v.len()
                    && v.iter()
                        .zip(m)
                        .all(|(&x, &y)| net.nodes[x].sched == net.nodes[y].sched)
            }
        };
        match values {
            Some(W::Lanes(v)) if aligned(&v, &mask, &w.net) => w.net.outputs.push(Output {
                lanes: v,
                mask,
                ..o.clone()
            }),
            Some(W::Lanes(_)) => {
                let span = old.nodes[o.lanes[0]].span;
                return Err(vec![Diagnostic::error(
                    Code::LANES,
                    format!(
                        "the selection of `{}` takes another lane count or timing than its values",
                        o.name
                    ),
                )
                .primary(span, "its mask and values arrive differently")
                .help("select with a mask computed elementwise from the same frame")]);
            }
            _ => {
                return Err(vec![Diagnostic::bug(format!(
                    "output {} lost its stream while widening",
                    o.name
                ))])
            }
        }
    }
    // a state's banks: as many as its loads' lanes (or, unread, its next value's)
    let has_load = |s: usize| {
        old.nodes
            .values()
            .any(|n| matches!(n.kind, ProcKind::Load { state, .. } if state as usize == s))
    };
    for s in 0..w.net.states.len() {
        let next = w.net.outputs[w.net.states[s].next as usize].lanes.len() as u32;
        let st = &mut w.net.states[s];
        if !has_load(s) {
            st.lanes = next;
        } else if st.lanes != next {
            let (name, banks) = (st.name.clone(), st.lanes);
            let span = old.outputs[st.next as usize].lanes[0];
            let span = old.nodes[span].span;
            return Err(vec![Diagnostic::error(
                Code::LANES,
                format!("state `{name}` is read {banks} and written {next} elements per cycle on {lanes} lanes"),
            )
            .primary(span, "its new value takes another lane count than its reads")
            .help("update a state from values of its own shape computed elementwise")]);
        }
    }
    proc::load::settle(&mut w.net);
    Ok(w.net)
}

/// Widens to `lanes` elements per cycle, or to the most lanes (halving) that
/// every construct of the network can take: `--lanes N` asks for speed, and a
/// kernel's meaning never depends on it. Returns the network and, when it has
/// fewer lanes than asked, why — the diagnostics of each lane count that failed,
/// as warnings. Only a compiler bug is an error.
pub fn widen_up_to(
    old: &Network,
    lanes: u32,
) -> Result<(Network, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut why: Vec<Diagnostic> = Vec::new();
    let mut n = lanes.max(1);
    loop {
        match widen(old, n) {
            Ok(net) => {
                let got = net.lanes();
                if got < n {
                    why.extend(short_inputs(old, &net, n));
                }
                for d in &mut why {
                    d.notes.push(format!(
                        "note: so the kernel takes {got} element{} per cycle, not {lanes}",
                        if got == 1 { "" } else { "s" }
                    ));
                }
                return Ok((net, why));
            }
            Err(d) if n > 1 && d.iter().all(|d| d.severity == Severity::Error) => {
                // one warning per construct: the first (most lanes) says why
                let at = |d: &Diagnostic| (d.code, d.labels.first().map(|l| l.span));
                for d in d {
                    if !why.iter().any(|w| at(w) == at(&d)) {
                        why.push(d.into_warning());
                    }
                }
                n /= 2;
            }
            Err(d) => return Err(d),
        }
    }
}

/// Warnings for the input streams that take fewer than `n` lanes because `n`
/// does not divide their elements per frame (each takes the greatest common divisor).
fn short_inputs(old: &Network, net: &Network, n: u32) -> Vec<Diagnostic> {
    net.inputs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.lanes < n)
        .map(|(i, p)| {
            let span = old
                .nodes
                .values()
                .find(|x| matches!(x.kind, ProcKind::Input(port, _) if port as usize == i))
                .map_or(Span::NONE, |x| x.span);
            let elements = numel(&p.shape);
            Diagnostic::error(
                Code::LANES,
                format!(
                    "input `{}` takes {} element{} per cycle, not {n}",
                    p.name,
                    p.lanes,
                    if p.lanes == 1 { "" } else { "s" }
                ),
            )
            .primary(
                span,
                format!("{elements} elements per frame, which {n} lanes do not divide"),
            )
            .help("a frame whose element count is a multiple of the lane count takes every lane")
            .into_warning()
        })
        .collect()
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

struct Widen {
    net: Network,
    map: Vec<Option<W>>,
    delays: HashMap<(Bus, u32), Bus>,
    diags: Vec<Diagnostic>,
}

/// An elementwise kind with new operands.
fn with_operands(kind: &ProcKind, s: &[Src]) -> ProcKind {
    match kind {
        ProcKind::Unary(op, d, _) => ProcKind::Unary(*op, *d, s[0]),
        ProcKind::Binary(op, d, ..) => ProcKind::Binary(*op, *d, s[0], s[1]),
        ProcKind::Compare(op, ..) => ProcKind::Compare(*op, s[0], s[1]),
        ProcKind::Select(..) => ProcKind::Select(s[0], s[1], s[2]),
        ProcKind::Cast(d, _) => ProcKind::Cast(*d, s[0]),
        ProcKind::Lookup(t, _) => ProcKind::Lookup(t.clone(), s[0]),
        ProcKind::Float(_) => ProcKind::Float(s[0]),
        // not elementwise: nothing to replace
        crate::stream_kinds!() => kind.clone(),
    }
}

/// The values a sum of `n` values of `x` in dtype `d` can take.
fn sum_range(x: Interval, n: u32, d: DType) -> Interval {
    sum_exact(x, n as i128)
        .filter(|r| r.within(Interval::of(d)))
        .unwrap_or(Interval::of(d))
}

impl Widen {
    fn push(&mut self, kind: ProcKind, range: Interval, sched: Sched, span: Span) -> Bus {
        self.net.process(kind, range, sched, span)
    }

    fn sched(&self, b: Bus) -> Sched {
        self.net.nodes[b].sched.clone()
    }

    fn range(&self, b: Bus) -> Interval {
        self.net.nodes[b].range
    }

    fn delay(&mut self, b: Bus, d: u32) -> Bus {
        self.net.delayed(&mut self.delays, b, d)
    }

    /// Delays stream buses so that they start in the same cycle.
    fn align(&mut self, buses: &[Bus]) -> Vec<Bus> {
        self.net.align(&mut self.delays, buses)
    }

    /// A registered process one cycle after its (aligned) stream operand `like`.
    fn after(&mut self, kind: ProcKind, range: Interval, like: Bus, span: Span) -> Bus {
        let s = self.sched(like).delayed(1);
        self.push(kind, range, s, span)
    }

    fn fail(&mut self, span: Span, what: String, help: &str) -> Option<W> {
        self.diags.push(
            Diagnostic::error(Code::LANES, what)
                .primary(span, "takes fewer elements per cycle than asked")
                .help(help.to_string()),
        );
        None
    }

    /// How an operand of the old network is available (every operand is widened
    /// before its users).
    fn lanes_of(&mut self, b: Bus, span: Span) -> Option<W> {
        let w = self.map[b.index()].clone();
        if w.is_none() {
            self.diags
                .push(Diagnostic::bug(format!("{b} used before it was widened")).primary(span, ""));
        }
        w
    }

    /// The widened form of old bus `b` with its lanes in order: a selection
    /// gets its gearbox here, once (the packed lanes replace it).
    fn dense(&mut self, b: Bus, span: Span) -> Option<W> {
        match self.lanes_of(b, span)? {
            W::Selected(sel) => {
                let packed = self.pack_selected(&sel)?;
                self.map[b.index()] = Some(packed.clone());
                Some(packed)
            }
            w => Some(w),
        }
    }

    /// A selection's lanes packed in order by gearboxes.
    fn pack_selected(&mut self, sel: &Selected) -> Option<W> {
        let mut kept = Vec::new();
        let mut wrapped = Vec::new();
        for &(l, bus) in &sel.lanes {
            if sel.first > 0 && l >= sel.first {
                kept.push(self.delay(bus, 1));
            } else {
                wrapped.push(bus);
            }
        }
        kept.extend(wrapped);
        self.packed(sel.range, sel.span, kept, sel.width)
    }

    fn stream_lanes(&mut self, b: Bus, span: Span) -> Option<Vec<Bus>> {
        match self.dense(b, span)? {
            W::Lanes(v) => Some(v),
            W::Selected(_) => {
                self.diags
                    .push(Diagnostic::bug("a selection stayed unpacked").primary(span, ""));
                None
            }
            W::Static(_) => {
                self.diags
                    .push(Diagnostic::bug("a stream operand became static").primary(span, ""));
                None
            }
        }
    }

    fn node_of(&mut self, n: &Node) -> Option<W> {
        let span = n.span;
        match &n.kind {
            ProcKind::Input(i, _) => {
                let p = &self.net.inputs[*i as usize];
                let (lanes, count) = (p.lanes, numel(&p.shape) as u32);
                let v = (0..lanes)
                    .map(|l| {
                        self.push(
                            ProcKind::Input(*i, l),
                            n.range,
                            Sched::dense(count / lanes, 0),
                            span,
                        )
                    })
                    .collect();
                Some(W::Lanes(v))
            }
            ProcKind::Param(_) => Some(W::Static(self.push(
                n.kind.clone(),
                n.range,
                Sched::Static,
                span,
            ))),
            ProcKind::Delay(a, _) => self.lanes_of(*a, span),
            ProcKind::Merge { srcs, blocks, reps } => {
                let mut one = Vec::new();
                for s in srcs {
                    let v = self.stream_lanes(*s, span)?;
                    if v.len() != 1 {
                        return self.fail(
                            span,
                            format!(
                                "a join (np.concatenate, np.stack) of streams of {} lanes",
                                v.len()
                            ),
                            "joins take one element per cycle",
                        );
                    }
                    one.push(v[0]);
                }
                let kind = ProcKind::Merge {
                    srcs: one.clone(),
                    blocks: blocks.clone(),
                    reps: *reps,
                };
                match proc::merge::schedule(&self.net, &one, blocks, *reps) {
                    Some((s, _)) => Some(W::Lanes(vec![self.push(kind, n.range, s, span)])),
                    None => self.fail(
                        span,
                        "a join whose elements cannot leave within a frame".into(),
                        "use fewer lanes",
                    ),
                }
            }
            ProcKind::Iota {
                timing,
                first,
                step,
                wrap: None,
            } => {
                let tv = self.stream_lanes(*timing, span)?;
                let lanes = tv.len() as u32;
                let v = tv
                    .iter()
                    .enumerate()
                    .map(|(l, &t)| {
                        let kind = ProcKind::Iota {
                            timing: t,
                            first: first + l as u32 * step,
                            step: step * lanes,
                            wrap: None,
                        };
                        self.push(kind, n.range, proc::iota::schedule(&self.sched(t)), span)
                    })
                    .collect();
                Some(W::Lanes(v))
            }
            ProcKind::Load { state, timing, .. } => {
                let tv = self.stream_lanes(*timing, span)?;
                self.net.states[*state as usize].lanes = tv.len() as u32;
                let v = tv
                    .iter()
                    .enumerate()
                    .map(|(l, &t)| {
                        let kind = ProcKind::Load {
                            state: *state,
                            lane: l as u32,
                            timing: t,
                        };
                        self.push(kind, n.range, proc::load::schedule(&self.sched(t)), span)
                    })
                    .collect();
                Some(W::Lanes(v))
            }
            crate::elementwise_kinds!() => self.elementwise(n),
            ProcKind::Reduce(p) => self.reduce(n, p),
            ProcKind::Slice(a, shape, sel) => self.slice(n, *a, shape, sel),
            ProcKind::Scan(d, a, count) => self.scan(n, *d, *a, *count),
            ProcKind::Bincount(p) => self.bincount(n, p),
            ProcKind::Broadcast(Broadcast {
                arg,
                timing,
                from,
                to,
                view: _,
            }) => self.broadcast(n, *arg, *timing, from, to),
            // only widening makes gearboxes and row segments
            ProcKind::Pack { .. }
            | ProcKind::Segment(Segment { .. })
            | ProcKind::Iota { wrap: Some(_), .. } => {
                self.diags.push(
                    Diagnostic::bug(
                        "a gearbox or row segment in a network that is not widened yet",
                    )
                    .primary(span, ""),
                );
                None
            }
        }
    }

    fn elementwise(&mut self, n: &Node) -> Option<W> {
        let ops = n.kind.operands();
        let mut mapped: Vec<Option<W>> = Vec::with_capacity(ops.len());
        for s in &ops {
            mapped.push(match s {
                Src::Bus(b) => Some(self.lanes_of(*b, n.span)?),
                Src::Const(_) => None,
            });
        }
        // selections alike stay selections, lane by lane; anything else
        // combined with a selection takes it packed
        let selected: Vec<Selected> = mapped
            .iter()
            .filter_map(|m| match m {
                Some(W::Selected(s)) => Some(s.clone()),
                _ => None,
            })
            .collect();
        if let Some(first) = selected.first() {
            let lanes = mapped.iter().any(|m| matches!(m, Some(W::Lanes(_))));
            if !lanes && selected.iter().all(|s| s.alike(first)) {
                if let Some(w) = self.elementwise_selected(n, &ops, &mapped, first) {
                    return Some(w);
                }
            }
            for (i, s) in ops.iter().enumerate() {
                if let (Src::Bus(b), Some(W::Selected(_))) = (s, &mapped[i]) {
                    mapped[i] = Some(self.dense(*b, n.span)?);
                }
            }
        }
        let counts: Vec<usize> = mapped
            .iter()
            .filter_map(|m| match m {
                Some(W::Lanes(v)) => Some(v.len()),
                _ => None,
            })
            .collect();
        // operand `i` on lane `l` (static buses and constants serve every lane)
        let src = |i: usize, l: usize| match &mapped[i] {
            Some(W::Static(b)) => Src::Bus(*b),
            Some(W::Lanes(v)) => Src::Bus(v[l]),
            Some(W::Selected(_)) | None => ops[i],
        };
        let Some(&lanes) = counts.first() else {
            let srcs: Vec<Src> = (0..ops.len()).map(|i| src(i, 0)).collect();
            let kind = with_operands(&n.kind, &srcs);
            return Some(W::Static(self.push(kind, n.range, Sched::Static, n.span)));
        };
        if counts.iter().any(|&c| c != lanes) {
            let mut c = counts.clone();
            c.sort_unstable();
            c.dedup();
            return self.fail(
                n.span,
                format!(
                    "operands that arrive {} elements per cycle are combined elementwise",
                    c.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
                "combine arrays of the same number of elements",
            );
        }
        let streams: Vec<(usize, Vec<Bus>)> = mapped
            .iter()
            .enumerate()
            .filter_map(|(i, m)| match m {
                Some(W::Lanes(v)) => Some((i, v.clone())),
                _ => None,
            })
            .collect();
        match self.lane_by_lane(n, &ops, &mapped, &streams, lanes) {
            Some(out) => Some(W::Lanes(out)),
            // the one-lane network is aligned (verified), but the lanes'
            // gearboxes let the operands' elements out at different times
            None => self.fail(
                n.span,
                format!(
                    "operands whose elements leave their gearboxes at different times on {lanes} lanes are combined elementwise"
                ),
                "use a lane count that the slices' starts and steps line up with",
            ),
        }
    }

    /// Node `n` on each of `lanes` lanes: stream operand `i` of `streams` is its
    /// lane's bus, static buses and constants serve every lane. `None`, with
    /// nothing built, when a lane's stream operands do not share one pattern.
    fn lane_by_lane(
        &mut self,
        n: &Node,
        ops: &[Src],
        mapped: &[Option<W>],
        streams: &[(usize, Vec<Bus>)],
        lanes: usize,
    ) -> Option<Vec<Bus>> {
        let patterns_agree = (0..lanes).all(|l| {
            let first = self.sched(streams[0].1[l]);
            streams
                .iter()
                .all(|(_, v)| self.sched(v[l]).same_pattern(&first))
        });
        if !patterns_agree {
            return None;
        }
        let mut out = Vec::with_capacity(lanes);
        for l in 0..lanes {
            let buses: Vec<Bus> = streams.iter().map(|(_, v)| v[l]).collect();
            let aligned = self.align(&buses);
            let mut srcs: Vec<Src> = ops
                .iter()
                .enumerate()
                .map(|(i, s)| match &mapped[i] {
                    Some(W::Static(b)) => Src::Bus(*b),
                    _ => *s,
                })
                .collect();
            for ((i, _), &b) in streams.iter().zip(&aligned) {
                srcs[*i] = Src::Bus(b);
            }
            let kind = with_operands(&n.kind, &srcs);
            out.push(self.after(kind, n.range, aligned[0], n.span));
        }
        Some(out)
    }

    /// An elementwise operation of selections alike ([`Selected::alike`]), lane
    /// by lane; `None` when a lane's operands do not share one pattern.
    fn elementwise_selected(
        &mut self,
        n: &Node,
        ops: &[Src],
        mapped: &[Option<W>],
        like: &Selected,
    ) -> Option<W> {
        let streams: Vec<(usize, Vec<Bus>)> = mapped
            .iter()
            .enumerate()
            .filter_map(|(i, m)| match m {
                Some(W::Selected(s)) => Some((i, s.lanes.iter().map(|x| x.1).collect())),
                _ => None,
            })
            .collect();
        let out = self.lane_by_lane(n, ops, mapped, &streams, like.lanes.len())?;
        Some(W::Selected(Selected {
            lanes: like.lanes.iter().map(|x| x.0).zip(out).collect(),
            range: n.range,
            span: n.span,
            ..like.clone()
        }))
    }

    /// A pipelined tree over buses of one schedule: `combine(x, y, leaves)`.
    fn tree(
        &mut self,
        mut level: Vec<Bus>,
        mut combine: impl FnMut(&mut Self, Bus, Bus, u32) -> Bus,
    ) -> Bus {
        let mut size = 1u32;
        while level.len() > 1 {
            size *= 2;
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            for pair in level.chunks(2) {
                next.push(match pair {
                    [x, y] => combine(self, *x, *y, size),
                    [x] => self.delay(*x, 1),
                    _ => unreachable!("chunks of two"),
                });
            }
            level = next;
        }
        level[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_fall_on_trailing_axes() {
        assert_eq!(split(&[32, 32], 8), Some(Split { r: 1, a: 4, b: 8 }));
        assert_eq!(split(&[16, 2, 16, 2], 8), Some(Split { r: 2, a: 4, b: 4 }));
        assert_eq!(split(&[24, 40], 16), None);
        assert_eq!(split(&[8, 2], 4), Some(Split { r: 0, a: 4, b: 2 }));
        assert_eq!(split(&[7], 2), None);
    }
}
