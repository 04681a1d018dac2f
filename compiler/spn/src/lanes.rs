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

use crate::ir::{Bus, LaneView, Network, Node, Output, ProcKind, Sched, Src};
use crate::proc;
use crate::proc::broadcast::Streams;
use cranelift_entity::EntityRef;
use hissc_aop::passes::ranges::sum_exact;
use hissc_aop::types::numel;
use hissc_aop::{BinaryOp, CmpOp, DType, Interval, ReduceOp};
use hissc_diagnostics::{Code, Diagnostic, Severity, Span};
use std::collections::HashMap;

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

/// The multi-index of position `i` in `shape` (C order).
fn unravel(mut i: u32, shape: &[u32]) -> Vec<u32> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    idx
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
                for d in d {
                    if !why
                        .iter()
                        .any(|w| w.message == d.message && w.labels == d.labels)
                    {
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

    fn stream_lanes(&mut self, b: Bus, span: Span) -> Option<Vec<Bus>> {
        match self.lanes_of(b, span)? {
            W::Lanes(v) => Some(v),
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
            ProcKind::Reduce(op, d, a, shape, axes) => self.reduce(n, *op, *d, *a, shape, axes),
            ProcKind::Slice(a, shape, sel) => self.slice(n, *a, shape, sel),
            ProcKind::Scan(d, a, count) => self.scan(n, *d, *a, *count),
            ProcKind::Bincount {
                x,
                weights,
                mask,
                bins,
                count,
                float,
            } => self.bincount(n, *x, *weights, *mask, *bins, *count, *float),
            ProcKind::Broadcast {
                arg,
                timing,
                from,
                to,
                view: _,
            } => self.broadcast(n, *arg, *timing, from, to),
            // only widening makes gearboxes and row segments
            ProcKind::Pack { .. }
            | ProcKind::Segment { .. }
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
            None => ops[i],
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
        let mut out = Vec::with_capacity(lanes);
        for l in 0..lanes {
            let mut srcs: Vec<Src> = (0..ops.len()).map(|i| src(i, l)).collect();
            let (idx, buses): (Vec<usize>, Vec<Bus>) = mapped
                .iter()
                .enumerate()
                .filter_map(|(i, m)| match m {
                    Some(W::Lanes(v)) => Some((i, v[l])),
                    _ => None,
                })
                .unzip();
            let aligned = self.align(&buses);
            if aligned
                .iter()
                .any(|&b| !self.sched(b).same_pattern(&self.sched(aligned[0])))
            {
                // the one-lane network is aligned (verified), but the lanes'
                // gearboxes let the operands' elements out at different times
                return self.fail(
                    n.span,
                    format!(
                        "operands whose elements leave their gearboxes at different times on {lanes} lanes are combined elementwise"
                    ),
                    "use a lane count that the slices' starts and steps line up with",
                );
            }
            for (&i, &b) in idx.iter().zip(&aligned) {
                srcs[i] = Src::Bus(b);
            }
            let kind = with_operands(&n.kind, &srcs);
            out.push(self.after(kind, n.range, aligned[0], n.span));
        }
        Some(W::Lanes(out))
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

    #[allow(clippy::too_many_arguments)]
    fn reduce(
        &mut self,
        n: &Node,
        op: ReduceOp,
        d: DType,
        a: Bus,
        shape: &[u32],
        axes: &[u32],
    ) -> Option<W> {
        let v = self.stream_lanes(a, n.span)?;
        let lanes = v.len() as u32;
        if lanes == 1 {
            let s = proc::reduce::schedule(&self.sched(v[0]), shape, axes);
            let kind = ProcKind::Reduce(op, d, v[0], shape.to_vec(), axes.to_vec());
            return Some(W::Lanes(vec![self.push(kind, n.range, s, n.span)]));
        }
        if matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin) {
            return self.arg_reduce(n, op, v, shape, axes);
        }
        let all = (0..shape.len() as u32).all(|i| axes.contains(&i));
        // a reduction over the trailing axes is one over rows of their elements
        let trailing = axes
            .iter()
            .enumerate()
            .all(|(i, &x)| x as usize == shape.len() - axes.len() + i);
        let (shape, axes) = match (all, split(shape, lanes)) {
            (false, None) if trailing => {
                let k = shape.len() - axes.len();
                let width: u32 = shape[k..].iter().product();
                if !width.is_multiple_of(lanes) && width > lanes {
                    return self.segmented(n, op, d, v, width);
                }
                (vec![numel(&shape[..k]) as u32, width], vec![1])
            }
            _ => (shape.to_vec(), axes.to_vec()),
        };
        let (shape, axes) = (&shape[..], &axes[..]);
        // (cycle shape, reduced cycle axes, groups of lanes to combine)
        let (cshape, caxes, groups): (Vec<u32>, Vec<u32>, Vec<Vec<usize>>) = if all {
            let c = numel(shape) as u32 / lanes;
            (vec![c], vec![0], vec![(0..lanes as usize).collect()])
        } else {
            let Some(sp) = split(shape, lanes) else {
                return self.fail(
                    n.span,
                    format!(
                        "a reduction over axes {axes:?} of {shape:?}, whose rows do not line up with {lanes} lanes"
                    ),
                    "use a lane count that divides the last axis, or that the last axes divide",
                );
            };
            let red = |i: usize| axes.contains(&(i as u32));
            let cshape = sp.cycle_shape(shape);
            let caxes: Vec<u32> = (0..=sp.r).filter(|&i| red(i)).map(|i| i as u32).collect();
            let lshape = sp.lane_shape(shape);
            let lred: Vec<bool> = (0..lshape.len()).map(|j| red(sp.r + j)).collect();
            let mut groups: Vec<Vec<usize>> = Vec::new();
            let mut keys: HashMap<Vec<u32>, usize> = HashMap::new();
            for l in 0..lanes {
                let idx = unravel(l, &lshape);
                let key: Vec<u32> = idx
                    .iter()
                    .zip(&lred)
                    .filter(|(_, &r)| !r)
                    .map(|(&i, _)| i)
                    .collect();
                let g = *keys.entry(key).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[g].push(l as usize);
            }
            (cshape, caxes, groups)
        };
        let arg = self.range(v[0]);
        let mut out = Vec::new();
        for g in groups {
            let leaves: Vec<Bus> = g.iter().map(|&l| v[l]).collect();
            let (root, fop) = if leaves.len() == 1 {
                (leaves[0], op)
            } else {
                self.reduce_tree(op, d, arg, leaves, n.span)
            };
            if caxes.is_empty() {
                out.push(root);
                continue;
            }
            let s = proc::reduce::schedule(&self.sched(root), &cshape, &caxes);
            let kind = ProcKind::Reduce(fop, d, root, cshape.clone(), caxes.clone());
            out.push(self.push(kind, n.range, s, n.span));
        }
        Some(W::Lanes(out))
    }

    /// The index bits `K` of `argmax`/`argmin` keys `value * 2^K + rank` over
    /// `positions` positions of values in `arg`, and the keys' values; `None`
    /// (a diagnostic) when value and index do not fit 64 bits together.
    fn arg_keys(
        &mut self,
        n: &Node,
        op: ReduceOp,
        lanes: u32,
        positions: u32,
        arg: Interval,
    ) -> Option<(u32, Interval)> {
        let k = 32 - (positions - 1).max(1).leading_zeros();
        let keys = Interval::new(arg.lo << k, (arg.hi << k) + (1i128 << k) - 1);
        if keys.within(Interval::of(DType::I64)) {
            return Some((k, keys));
        }
        self.fail(
            n.span,
            format!(
                "`{}` over {lanes} lanes of values in [{}, {}]: value and index do not fit 64 bits together",
                op.name(),
                arg.lo,
                arg.hi
            ),
            "build it with --lanes 1, or narrow the values first",
        );
        None
    }

    /// The index that the best key's low `k` bits give: the rank itself for
    /// argmin, reversed (`top`, the last position, minus the rank) for argmax.
    fn key_index(&mut self, n: &Node, best: Bus, k: u32, top: Option<i128>) -> Bus {
        let mask = (1i128 << k) - 1;
        let kind = ProcKind::Binary(BinaryOp::And, DType::I64, Src::Bus(best), Src::Const(mask));
        let low = self.after(kind, Interval::new(0, mask), best, n.span);
        let Some(top) = top else {
            return low;
        };
        let kind = ProcKind::Binary(BinaryOp::Sub, DType::I64, Src::Const(top), Src::Bus(low));
        self.after(kind, n.range, low, n.span)
    }

    /// `argmax`/`argmin` over lanes. Each element becomes a key `value * 2^K + rank`,
    /// where `rank` orders the positions along the reduced axis — reversed for
    /// argmax — so that the largest (smallest) key is numpy's first maximal
    /// (minimal) element. A max (min) tree combines a cycle's lanes, a max (min)
    /// reduction the cycles, and the key's low K bits give the index. The rank's
    /// cycle part comes from a running count of the cycles (a `cumsum` of ones).
    fn arg_reduce(
        &mut self,
        n: &Node,
        op: ReduceOp,
        v: Vec<Bus>,
        shape: &[u32],
        axes: &[u32],
    ) -> Option<W> {
        let lanes = v.len() as u32;
        let span = n.span;
        let max = op == ReduceOp::ArgMax;
        // a flat argmax is one over the flattened array
        let (vshape, ax) = if axes.len() == shape.len() {
            (vec![numel(shape) as u32], 0usize)
        } else {
            (shape.to_vec(), axes[0] as usize)
        };
        let Some(sp) = split(&vshape, lanes) else {
            // along rows that straddle cycles
            let width = vshape[ax];
            if ax + 1 == vshape.len() && width > lanes {
                return self.arg_segmented(n, op, v, width);
            }
            return self.fail(
                span,
                format!(
                    "`{}` over axis {ax} of {shape:?}, whose rows do not line up with {lanes} lanes",
                    op.name()
                ),
                "use a lane count that divides the last axis, or that the last axes divide",
            );
        };
        let positions = vshape[ax];
        let arg = self.range(v[0]);
        let (k, keys) = self.arg_keys(n, op, lanes, positions, arg)?;
        let cshape = sp.cycle_shape(&vshape);
        let lshape = sp.lane_shape(&vshape);
        // the rank of lane `l`'s element: its lane part, and the multiplier of the
        // cycle part (the position of the cycle along the reduced axis)
        let (lane_axis, step) = match ax.cmp(&sp.r) {
            std::cmp::Ordering::Less => (None, 1),
            std::cmp::Ordering::Equal => (Some(0), sp.b),
            std::cmp::Ordering::Greater => (Some(ax - sp.r), 0),
        };
        let caxes: Vec<u32> = if ax <= sp.r { vec![ax as u32] } else { vec![] };
        let i64r = Interval::of(DType::I64);
        let bin = |w: &mut Self, b: BinaryOp, x: Src, y: Src, r: Interval, like: Bus| {
            w.after(ProcKind::Binary(b, DType::I64, x, y), r, like, span)
        };
        // the cycle part of the rank, times `step`
        let cycle_part = if caxes.is_empty() || cshape[ax] == 1 {
            None
        } else {
            // the cycle's number in the frame, from a running count of ones
            let frame: u32 = cshape.iter().product();
            let stride: u32 = cshape[ax + 1..].iter().product();
            let kind = ProcKind::Compare(CmpOp::Eq, Src::Bus(v[0]), Src::Bus(v[0]));
            let one = self.after(kind, Interval::new(1, 1), v[0], span);
            let kind = ProcKind::Scan(DType::I64, one, frame);
            let count = self.after(kind, Interval::new(1, frame as i128), one, span);
            let q = Interval::new(0, frame as i128 - 1);
            let mut c = bin(
                self,
                BinaryOp::Sub,
                Src::Bus(count),
                Src::Const(1),
                q,
                count,
            );
            if stride > 1 {
                let r = Interval::new(0, (frame / stride) as i128 - 1);
                c = bin(
                    self,
                    BinaryOp::FloorDiv,
                    Src::Bus(c),
                    Src::Const(stride as i128),
                    r,
                    c,
                );
            }
            if ax > 0 {
                let r = Interval::new(0, cshape[ax] as i128 - 1);
                c = bin(
                    self,
                    BinaryOp::Mod,
                    Src::Bus(c),
                    Src::Const(cshape[ax] as i128),
                    r,
                    c,
                );
            }
            if step > 1 {
                let r = Interval::new(0, (cshape[ax] as i128 - 1) * step as i128);
                c = bin(
                    self,
                    BinaryOp::Mul,
                    Src::Bus(c),
                    Src::Const(step as i128),
                    r,
                    c,
                );
            }
            Some(c)
        };
        // group the lanes that differ only along the reduced axis
        let mut groups: Vec<Vec<u32>> = Vec::new();
        let mut ids: HashMap<Vec<u32>, usize> = HashMap::new();
        for l in 0..lanes {
            let mut idx = unravel(l, &lshape);
            if let Some(j) = lane_axis {
                idx[j] = 0;
            }
            let g = *ids.entry(idx).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(l);
        }
        let (top, pick) = if max {
            (positions as i128 - 1, BinaryOp::Max)
        } else {
            (0, BinaryOp::Min)
        };
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let mut leaves = Vec::with_capacity(g.len());
            for &l in &g {
                let lane_rank = lane_axis.map_or(0, |j| unravel(l, &lshape)[j] as i128);
                let x = v[l as usize];
                let shifted = bin(
                    self,
                    BinaryOp::Shl,
                    Src::Bus(x),
                    Src::Const(k as i128),
                    i64r,
                    x,
                );
                // argmax: value * 2^K + (positions - 1 - rank); argmin: value * 2^K + rank
                let fixed = if max { top - lane_rank } else { lane_rank };
                let mut key = bin(
                    self,
                    BinaryOp::Add,
                    Src::Bus(shifted),
                    Src::Const(fixed),
                    keys,
                    shifted,
                );
                if let Some(c) = cycle_part {
                    let ab = self.align(&[key, c]);
                    let b = if max { BinaryOp::Sub } else { BinaryOp::Add };
                    key = bin(self, b, Src::Bus(ab[0]), Src::Bus(ab[1]), keys, ab[0]);
                }
                leaves.push(key);
            }
            let root = self.tree(leaves, |w, x, y, _| {
                bin(w, pick, Src::Bus(x), Src::Bus(y), keys, x)
            });
            let best = if caxes.is_empty() {
                root
            } else {
                let rop = if max { ReduceOp::Max } else { ReduceOp::Min };
                let s = proc::reduce::schedule(&self.sched(root), &cshape, &caxes);
                let kind = ProcKind::Reduce(rop, DType::I64, root, cshape.clone(), caxes.clone());
                self.push(kind, keys, s, span)
            };
            out.push(self.key_index(n, best, k, max.then_some(top)));
        }
        Some(W::Lanes(out))
    }

    /// Combines lanes of one cycle for a reduction; the root and the reduction that
    /// goes on over the cycles.
    fn reduce_tree(
        &mut self,
        op: ReduceOp,
        d: DType,
        arg: Interval,
        leaves: Vec<Bus>,
        span: Span,
    ) -> (Bus, ReduceOp) {
        let (leaves, leaf, fop) = self.fold_leaves(op, d, arg, leaves, span);
        (self.combine(fop, d, leaf, 1, leaves, span), fop)
    }

    /// The leaves of a reduction's tree: the lanes as the tree folds them (0/1
    /// for a count of nonzero elements, and for `any`/`all` of other values;
    /// cast to the dtype where the values leave it), their values, and the
    /// reduction that folds them.
    fn fold_leaves(
        &mut self,
        op: ReduceOp,
        d: DType,
        arg: Interval,
        leaves: Vec<Bus>,
        span: Span,
    ) -> (Vec<Bus>, Interval, ReduceOp) {
        let nonzero = |w: &mut Self, x: Bus| {
            w.after(
                ProcKind::Compare(CmpOp::Ne, Src::Bus(x), Src::Const(0)),
                Interval::new(0, 1),
                x,
                span,
            )
        };
        let bit = Interval::new(0, 1);
        match op {
            ReduceOp::CountNonzero => {
                let l = leaves.iter().map(|&x| nonzero(self, x)).collect();
                (l, bit, ReduceOp::Sum)
            }
            ReduceOp::Sum if !arg.within(Interval::of(d)) => {
                let l = leaves
                    .iter()
                    .map(|&x| self.after(ProcKind::Cast(d, Src::Bus(x)), Interval::of(d), x, span))
                    .collect();
                (l, Interval::of(d), op)
            }
            ReduceOp::Any | ReduceOp::All if !arg.within(bit) => {
                let l = leaves.iter().map(|&x| nonzero(self, x)).collect();
                (l, bit, op)
            }
            ReduceOp::Sum | ReduceOp::Min | ReduceOp::Max | ReduceOp::Any | ReduceOp::All => {
                (leaves, arg, op)
            }
            ReduceOp::ArgMax | ReduceOp::ArgMin => {
                unreachable!("argmax and argmin widen through `arg_reduce`, before any tree")
            }
        }
    }

    /// A pipelined tree folding `leaves` (each standing for `per` elements of
    /// values in `leaf`) by `op`, one of the reductions a tree folds.
    fn combine(
        &mut self,
        op: ReduceOp,
        d: DType,
        leaf: Interval,
        per: u32,
        leaves: Vec<Bus>,
        span: Span,
    ) -> Bus {
        let b = match op {
            ReduceOp::Sum => BinaryOp::Add,
            ReduceOp::Min => BinaryOp::Min,
            ReduceOp::Max => BinaryOp::Max,
            ReduceOp::Any => BinaryOp::Or,
            ReduceOp::All => BinaryOp::And,
            ReduceOp::CountNonzero | ReduceOp::ArgMax | ReduceOp::ArgMin => {
                unreachable!("folded through `fold_leaves` first")
            }
        };
        let dt = if matches!(op, ReduceOp::Any | ReduceOp::All) {
            DType::Bool
        } else {
            d
        };
        self.tree(leaves, |w, x, y, k| {
            let r = if op == ReduceOp::Sum {
                sum_range(leaf, k * per, d)
            } else {
                leaf
            };
            w.after(
                ProcKind::Binary(b, dt, Src::Bus(x), Src::Bus(y)),
                r,
                x,
                span,
            )
        })
    }

    /// A reduction over rows of `width` elements that the lanes do not divide
    /// (`width > lanes`), so that rows straddle cycles ([`Widen::segment_fold`]);
    /// `argmax`/`argmin` fold keys ([`Widen::arg_segmented`]).
    fn segmented(
        &mut self,
        n: &Node,
        op: ReduceOp,
        d: DType,
        v: Vec<Bus>,
        width: u32,
    ) -> Option<W> {
        if matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin) {
            return self.arg_segmented(n, op, v, width);
        }
        let arg = self.range(v[0]);
        let (leaves, leaf, fop) = self.fold_leaves(op, d, arg, v, n.span);
        let root = self.segment_fold(fop, d, leaf, leaves, width, n.span);
        Some(W::Lanes(vec![root]))
    }

    /// Folds `leaves` (a stream's lanes, values in `leaf`) by `op` over rows of
    /// `width > lanes` elements: row boundaries fall on multiples of `g =
    /// gcd(width, lanes)` lanes, so plain trees first fold blocks of `g` lanes;
    /// each block then goes through a [`ProcKind::Segment`] that splits its
    /// stream at the row boundaries, and a tree folds the blocks' parts of each
    /// row, which leave one per cycle in the cycles where rows end.
    fn segment_fold(
        &mut self,
        op: ReduceOp,
        d: DType,
        leaf: Interval,
        leaves: Vec<Bus>,
        width: u32,
        span: Span,
    ) -> Bus {
        let lanes = leaves.len() as u32;
        let g = gcd(width, lanes);
        let blocks: Vec<Bus> = leaves
            .chunks(g as usize)
            .map(|c| self.combine(op, d, leaf, 1, c.to_vec(), span))
            .collect();
        let blocks = self.align(&blocks);
        let (bw, bl) = (width / g, lanes / g);
        let per = g * bw.div_ceil(bl);
        let part = if op == ReduceOp::Sum {
            sum_range(leaf, per, d)
        } else {
            leaf
        };
        let parts: Vec<Bus> = blocks
            .iter()
            .enumerate()
            .map(|(j, &x)| {
                let kind = ProcKind::Segment {
                    op,
                    d,
                    arg: x,
                    width: bw,
                    lane: j as u32,
                    lanes: bl,
                };
                let s = proc::segment::schedule(&self.sched(x), bw, bl);
                self.push(kind, part, s, span)
            })
            .collect();
        self.combine(op, d, leaf, per, parts, span)
    }

    /// `argmax`/`argmin` along rows that straddle cycles: each element's key is
    /// `value * 2^K + rank`, its rank its column (a wrapping [`ProcKind::Iota`]
    /// per lane), reversed for argmax, so that the largest (smallest) key of a
    /// row is numpy's first maximal (minimal) element; the keys' row maxima
    /// (minima) come from [`Widen::segment_fold`], and their low K bits give the
    /// column.
    fn arg_segmented(&mut self, n: &Node, op: ReduceOp, v: Vec<Bus>, width: u32) -> Option<W> {
        let (lanes, span, max) = (v.len() as u32, n.span, op == ReduceOp::ArgMax);
        let arg = self.range(v[0]);
        let (k, keys) = self.arg_keys(n, op, lanes, width, arg)?;
        let top = width as i128 - 1;
        let bin = |w: &mut Self, b: BinaryOp, x: Src, y: Src, r: Interval, like: Bus| {
            w.after(ProcKind::Binary(b, DType::I64, x, y), r, like, span)
        };
        let mut leaves = Vec::with_capacity(v.len());
        for (l, &x) in v.iter().enumerate() {
            let kind = ProcKind::Iota {
                timing: x,
                first: l as u32 % width,
                step: lanes % width,
                wrap: Some(width),
            };
            let cols = Interval::new(0, top);
            let col = self.push(kind, cols, proc::iota::schedule(&self.sched(x)), span);
            let rank = if max {
                bin(
                    self,
                    BinaryOp::Sub,
                    Src::Const(top),
                    Src::Bus(col),
                    cols,
                    col,
                )
            } else {
                col
            };
            let shifted = bin(
                self,
                BinaryOp::Shl,
                Src::Bus(x),
                Src::Const(k as i128),
                Interval::of(DType::I64),
                x,
            );
            let ab = self.align(&[shifted, rank]);
            leaves.push(bin(
                self,
                BinaryOp::Add,
                Src::Bus(ab[0]),
                Src::Bus(ab[1]),
                keys,
                ab[0],
            ));
        }
        let leaves = self.align(&leaves);
        let fop = if max { ReduceOp::Max } else { ReduceOp::Min };
        let best = self.segment_fold(fop, DType::I64, keys, leaves, width, span);
        Some(W::Lanes(vec![self.key_index(
            n,
            best,
            k,
            max.then_some(top),
        )]))
    }

    fn slice(&mut self, n: &Node, a: Bus, shape: &[u32], sel: &[(u32, u32, u32)]) -> Option<W> {
        let v = self.stream_lanes(a, n.span)?;
        let lanes = v.len() as u32;
        let filter = |w: &mut Self, b: Bus, cshape: &[u32], csel: &[(u32, u32, u32)]| {
            if csel.iter().zip(cshape).all(|(&s, &d)| s == (0, 1, d)) {
                return b;
            }
            let s = proc::slice::schedule(&w.sched(b), cshape, csel);
            let kind = ProcKind::Slice(b, cshape.to_vec(), csel.to_vec());
            w.push(kind, n.range, s, n.span)
        };
        if lanes == 1 {
            return Some(W::Lanes(vec![filter(self, v[0], shape, sel)]));
        }
        let bad = |w: &mut Self| {
            w.fail(
                n.span,
                format!("a slice whose selection does not line up with {lanes} lanes"),
                "use a lane count that the slice's step divides (or a multiple of it), with whole groups of lanes selected",
            )
        };
        let Some(sp) = split(shape, lanes) else {
            return bad(self);
        };
        let cshape = sp.cycle_shape(shape);
        let mut csel: Vec<(u32, u32, u32)> = sel[..sp.r].to_vec();
        // the lanes selected along each lane axis
        let mut lsel: Vec<Vec<u32>> = Vec::new();
        let (s, st, c) = sel[sp.r];
        let b = sp.b;
        if b == 1 {
            csel.push((s, st, c));
            lsel.push(vec![0]);
        } else if (s, st, c) == (0, 1, shape[sp.r]) {
            csel.push((0, 1, sp.a));
            lsel.push((0..b).collect());
        } else if st.is_multiple_of(b) {
            csel.push((s / b, st / b, c));
            lsel.push(vec![s % b]);
        } else if b.is_multiple_of(st) && s % b < st && (c * st).is_multiple_of(b) {
            csel.push((s / b, 1, c * st / b));
            lsel.push((0..b / st).map(|j| s % b + st * j).collect());
        } else {
            // the selection moves elements between lanes
            return self.slice_packed(n, &v, shape, sel, sp);
        }
        for &(s, st, c) in &sel[sp.r + 1..] {
            lsel.push((0..c).map(|m| s + st * m).collect());
        }
        let lshape = sp.lane_shape(shape);
        let total: usize = lsel.iter().map(|x| x.len()).product();
        let mut out = Vec::with_capacity(total);
        for k in 0..total as u32 {
            let counts: Vec<u32> = lsel.iter().map(|x| x.len() as u32).collect();
            let idx = unravel(k, &counts);
            let mut lane = 0u32;
            for (j, &i) in idx.iter().enumerate() {
                lane = lane * lshape[j] + lsel[j][i as usize];
            }
            out.push(filter(self, v[lane as usize], &cshape, &csel));
        }
        Some(W::Lanes(out))
    }

    /// A slice whose selection moves elements between lanes (a step that does not
    /// divide the lanes, say): every lane keeps its own selected elements — for
    /// one lane the selection along the split axis is again a step, so each lane is
    /// an ordinary slice of its own stream — and gearboxes pack what the lanes keep,
    /// in order, into `gcd(lanes, elements kept)` lanes.
    fn slice_packed(
        &mut self,
        n: &Node,
        v: &[Bus],
        shape: &[u32],
        sel: &[(u32, u32, u32)],
        sp: Split,
    ) -> Option<W> {
        let cshape = sp.cycle_shape(shape);
        let lshape = sp.lane_shape(shape);
        // The gearbox's timing depends only on where the selection starts within a
        // cycle: the lanes from `first` (the lane of the first selected element)
        // on enter one cycle later, ahead of the lanes before it, so that the
        // queue sees element `e` in cycle `(e - first) / lanes + 1` (of the
        // lanes' timing), in order (with `first == 0` every element is already
        // in cycle `e / lanes`). Slices that are translates of each other (the
        // shifted views of a stencil) then get one pattern, a delay apart.
        let first = {
            let mut o = 0u64;
            for (d, &(start, _, _)) in sel.iter().enumerate() {
                let stride: u64 = shape[d + 1..].iter().map(|&x| x as u64).product();
                o += start as u64 * stride;
            }
            (o % v.len() as u64) as usize
        };
        let mut kept = Vec::new();
        let mut wrapped = Vec::new();
        for (l, &bus) in v.iter().enumerate() {
            let idx = unravel(l as u32, &lshape);
            if !idx[1..]
                .iter()
                .zip(&sel[sp.r + 1..])
                .all(|(&i, &s)| proc::slice::picks(i, s))
            {
                continue;
            }
            // the cycles along the split axis whose element on this lane is selected
            let g: Vec<u32> = (0..sp.a)
                .filter(|&g| proc::slice::picks(g * sp.b + idx[0], sel[sp.r]))
                .collect();
            let Some(&g0) = g.first() else { continue };
            let step = g.get(1).map_or(1, |g1| g1 - g0);
            if g.windows(2).any(|w| w[1] - w[0] != step) {
                self.diags
                    .push(Diagnostic::bug("a lane's slice is not a step").primary(n.span, ""));
                return None;
            }
            let mut csel = sel[..sp.r].to_vec();
            csel.push((g0, step, g.len() as u32));
            // every kept lane goes through a slice process, so that all of them
            // keep the source's timing (one cycle later)
            let s = proc::slice::schedule(&self.sched(bus), &cshape, &csel);
            let kind = ProcKind::Slice(bus, cshape.clone(), csel);
            let lane = self.push(kind, n.range, s, n.span);
            if first > 0 && l >= first {
                kept.push(self.delay(lane, 1));
            } else {
                wrapped.push(lane);
            }
        }
        kept.extend(wrapped);
        let total: u32 = sel.iter().map(|x| x.2).product();
        let width = gcd(v.len() as u32, total);
        self.packed(n, kept, width)
    }

    /// `width` lanes carrying, in order, the elements of `lanes` (gearboxes).
    fn packed(&mut self, n: &Node, lanes: Vec<Bus>, width: u32) -> Option<W> {
        let Some((s, _)) = proc::pack::schedule(&self.net, &lanes, width) else {
            return self.fail(
                n.span,
                format!(
                    "elements that move between lanes, {width} per cycle, cannot leave within a frame"
                ),
                "use fewer lanes",
            );
        };
        let out = (0..width)
            .map(|lane| {
                let kind = ProcKind::Pack {
                    lanes: lanes.clone(),
                    width,
                    lane,
                };
                self.push(kind, n.range, s.clone(), n.span)
            })
            .collect();
        Some(W::Lanes(out))
    }

    fn scan(&mut self, n: &Node, d: DType, a: Bus, count: u32) -> Option<W> {
        let v = self.stream_lanes(a, n.span)?;
        let lanes = v.len() as u32;
        let span = n.span;
        if lanes == 1 {
            let s = self.sched(v[0]).delayed(1);
            let kind = ProcKind::Scan(d, v[0], count);
            return Some(W::Lanes(vec![self.push(kind, n.range, s, span)]));
        }
        let arg = self.range(v[0]);
        let mut cur = v;
        if !arg.within(Interval::of(d)) {
            cur = cur
                .iter()
                .map(|&x| self.after(ProcKind::Cast(d, Src::Bus(x)), Interval::of(d), x, span))
                .collect();
        }
        let leaf = self.range(cur[0]);
        // Kogge–Stone: after the level with offset k, lane l holds the sum of lanes
        // max(0, l - 2k + 1) ..= l.
        let mut k = 1usize;
        while k < lanes as usize {
            let mut next = Vec::with_capacity(cur.len());
            for l in 0..cur.len() {
                next.push(if l >= k {
                    let kind =
                        ProcKind::Binary(BinaryOp::Add, d, Src::Bus(cur[l]), Src::Bus(cur[l - k]));
                    let r = sum_range(leaf, (l + 1).min(2 * k) as u32, d);
                    self.after(kind, r, cur[l], span)
                } else {
                    self.delay(cur[l], 1)
                });
            }
            cur = next;
            k *= 2;
        }
        // the running total of the earlier cycles of the frame
        let total = cur[lanes as usize - 1];
        let run = self.after(
            ProcKind::Scan(d, total, count / lanes),
            n.range,
            total,
            span,
        );
        let last = self.delay(total, 1);
        let before = if n.range == Interval::of(d) {
            n.range
        } else {
            n.range.union(Interval::point(0))
        };
        let kind = ProcKind::Binary(BinaryOp::Sub, d, Src::Bus(run), Src::Bus(last));
        let carry = self.after(kind, before, run, span);
        let t = self.sched(carry).time();
        let mut out = Vec::with_capacity(cur.len());
        for &x in &cur {
            let x = self.delay(x, t - self.sched(x).time());
            let kind = ProcKind::Binary(BinaryOp::Add, d, Src::Bus(x), Src::Bus(carry));
            out.push(self.after(kind, n.range, x, span));
        }
        Some(W::Lanes(out))
    }

    #[allow(clippy::too_many_arguments)]
    fn bincount(
        &mut self,
        n: &Node,
        x: Bus,
        weights: Option<Bus>,
        mask: Option<Bus>,
        bins: u32,
        count: u32,
        float: bool,
    ) -> Option<W> {
        let span = n.span;
        let xs = self.stream_lanes(x, span)?;
        let lanes = xs.len() as u32;
        let ws = match weights {
            Some(w) => Some(self.stream_lanes(w, span)?),
            None => None,
        };
        let ms = match mask {
            Some(m) => Some(self.stream_lanes(m, span)?),
            None => None,
        };
        if lanes == 1 {
            let mut buses = vec![xs[0]];
            buses.extend(ws.iter().chain(&ms).map(|v| v[0]));
            let al = self.align(&buses);
            let wb = ws.as_ref().map(|_| al[1]);
            let mb = ms.as_ref().map(|_| al[if ws.is_some() { 2 } else { 1 }]);
            let s = proc::bincount::schedule(&self.sched(al[0]), bins, float);
            let kind = ProcKind::Bincount {
                x: al[0],
                weights: wb,
                mask: mb,
                bins,
                count,
                float,
            };
            return Some(W::Lanes(vec![self.push(kind, n.range, s, span)]));
        }
        let period = self.net.frame_period();
        let Some(banks) = (0..=lanes.trailing_zeros())
            .map(|i| 1u32 << i)
            .find(|&k| bins.is_multiple_of(k) && bins / k + proc::bincount::LATENCY <= period)
        else {
            return self.fail(
                span,
                format!("{bins} bins cannot stream out of {lanes} count memories within a frame of {period} cycles"),
                "use fewer lanes, or a number of bins with more factors of two",
            );
        };
        let xr = self.range(xs[0]);
        let xd = if xr.within(Interval::of(DType::I64)) {
            DType::I64
        } else {
            DType::U64
        };
        let sh = banks.trailing_zeros() as i128;
        let per_lane = count / lanes;
        // what one lane's memory sums: counts, or integer sums of weights (a
        // weighted count becomes float64 only after the lanes are merged)
        let one = match &ws {
            Some(w) => self.range(w[0]).union(Interval::point(0)),
            None => Interval::new(0, 1),
        };
        let sums = |k: u32| sum_range(one, k * per_lane, DType::I64);
        let mut counts: Vec<Vec<Bus>> = vec![Vec::new(); banks as usize];
        for l in 0..lanes as usize {
            for (m, bank) in counts.iter_mut().enumerate() {
                let (xb, mb) = if banks == 1 {
                    (xs[l], ms.as_ref().map(|v| v[l]))
                } else {
                    let hi = ProcKind::Binary(BinaryOp::Shr, xd, Src::Bus(xs[l]), Src::Const(sh));
                    let hr = Interval::new(xr.lo >> sh, xr.hi >> sh);
                    let hi = self.after(hi, hr, xs[l], span);
                    let lo = ProcKind::Binary(
                        BinaryOp::And,
                        xd,
                        Src::Bus(xs[l]),
                        Src::Const(banks as i128 - 1),
                    );
                    let lo = self.after(lo, Interval::new(0, banks as i128 - 1), xs[l], span);
                    let eq = ProcKind::Compare(CmpOp::Eq, Src::Bus(lo), Src::Const(m as i128));
                    let mut sel = self.after(eq, Interval::new(0, 1), lo, span);
                    if let Some(mv) = &ms {
                        let al = self.align(&[sel, mv[l]]);
                        let both = ProcKind::Binary(
                            BinaryOp::And,
                            DType::Bool,
                            Src::Bus(al[0]),
                            Src::Bus(al[1]),
                        );
                        sel = self.after(both, Interval::new(0, 1), al[0], span);
                    }
                    (hi, Some(sel))
                };
                let wb = ws.as_ref().map(|v| v[l]);
                let mut buses = vec![xb];
                buses.extend(wb.iter().chain(&mb));
                let al = self.align(&buses);
                let s = proc::bincount::schedule(&self.sched(al[0]), bins / banks, false);
                let kind = ProcKind::Bincount {
                    x: al[0],
                    weights: wb.map(|_| al[1]),
                    mask: mb.map(|_| al[buses.len() - 1]),
                    bins: bins / banks,
                    count: per_lane,
                    float: false,
                };
                bank.push(self.push(kind, sums(1), s, span));
            }
        }
        let mut out = Vec::with_capacity(banks as usize);
        for bank in counts {
            // every lane's bincount has the same schedule only if the lanes were
            // aligned the same way; align them all first
            let bank = self.align(&bank);
            let mut root = self.tree(bank, |w, a, b, k| {
                let kind = ProcKind::Binary(BinaryOp::Add, DType::I64, Src::Bus(a), Src::Bus(b));
                w.after(kind, sums(k), a, span)
            });
            if float {
                let kind = ProcKind::Float(Src::Bus(root));
                root = self.after(kind, Interval::of(DType::U64), root, span);
            }
            out.push(root);
        }
        let out = self.align(&out);
        Some(W::Lanes(out))
    }

    fn broadcast(
        &mut self,
        n: &Node,
        arg: Bus,
        timing: Bus,
        from: &[u32],
        to: &[u32],
    ) -> Option<W> {
        let av = self.stream_lanes(arg, n.span)?;
        let tv = self.stream_lanes(timing, n.span)?;
        let lanes = tv.len() as u32;
        let mut padded = vec![1u32; to.len() - from.len()];
        padded.extend_from_slice(from);
        // what each lane's memory stores, and the cycle shapes it maps between
        let column =
            split(to, lanes).filter(|sp| lanes > 1 && padded[sp.r..].iter().all(|&d| d == 1));
        let row =
            split(to, lanes).filter(|sp| av.len() as u32 == lanes && padded[sp.r..] == to[sp.r..]);
        let (args, cfrom, cto) = if numel(from) == 1 && av.len() == 1 {
            // one value (a frame's statistic) read by every element of every lane
            let per_lane = self.sched(tv[0]).elements();
            (vec![av[0]; lanes as usize], vec![1], vec![per_lane])
        } else if let Some(sp) = column {
            // a column: every lane of a cycle reads the same element, so one stream
            // of the argument (through a gearbox if it has lanes) feeds every lane
            let one = match av.len() {
                1 => av[0],
                _ => match self.packed(n, av, 1)? {
                    W::Lanes(v) => v[0],
                    W::Static(b) => b,
                },
            };
            let mut cfrom = padded[..sp.r].to_vec();
            cfrom.push(1);
            (vec![one; lanes as usize], cfrom, sp.cycle_shape(to))
        } else if lanes == 1 && av.len() == 1 {
            (av, from.to_vec(), to.to_vec())
        } else if let Some(sp) = row {
            // rows: lane l stores the elements of the row that lane l reads
            (av, sp.cycle_shape(&padded), sp.cycle_shape(to))
        } else {
            // rows that straddle cycles: each lane reads its own elements of
            // `to` from the one lane of the argument that holds them all (or,
            // where it reads several, from the argument packed into one lane)
            return self.broadcast_lanes(n, av, tv, from, to);
        };
        let views = vec![LaneView::WHOLE; lanes as usize];
        self.broadcast_each(n, &args, &tv, (&cfrom, &cto), &views)
    }

    /// A broadcast whose lanes each read their own elements of `to`
    /// ([`LaneView`]s): from the lane of the argument that holds all of them,
    /// or from the argument packed into one lane.
    fn broadcast_lanes(
        &mut self,
        n: &Node,
        av: Vec<Bus>,
        tv: Vec<Bus>,
        from: &[u32],
        to: &[u32],
    ) -> Option<W> {
        let (lanes, a) = (tv.len() as u32, av.len() as u32);
        let direct: Option<Vec<u32>> = (0..lanes)
            .map(|l| proc::broadcast::arg_lane(from, to, l, lanes, a))
            .collect();
        let (args, arg_lanes) = match direct {
            Some(m) => (m.iter().map(|&m| av[m as usize]).collect(), a),
            None => {
                let one = match av.len() {
                    1 => av[0],
                    _ => match self.packed(n, av, 1)? {
                        W::Lanes(v) => v[0],
                        W::Static(b) => b,
                    },
                };
                (vec![one; lanes as usize], 1)
            }
        };
        let views: Vec<LaneView> = (0..lanes)
            .map(|lane| LaneView {
                lane,
                lanes,
                arg_lanes,
            })
            .collect();
        self.broadcast_each(n, &args, &tv, (from, to), &views)
    }

    /// One broadcast per lane, reading `args[l]` along `tv[l]` as `views[l]`
    /// says: every lane's timing waits as long as the latest lane needs (a
    /// row's or frame's statistic broadcast back onto it), so the lanes stay
    /// together.
    fn broadcast_each(
        &mut self,
        n: &Node,
        args: &[Bus],
        tv: &[Bus],
        (from, to): (&[u32], &[u32]),
        views: &[LaneView],
    ) -> Option<W> {
        let lags: Vec<u32> = (0..tv.len())
            .map(|l| {
                let (a, t) = (self.sched(args[l]), self.sched(tv[l]));
                let view = views[l];
                Streams {
                    arg: &a,
                    timing: &t,
                    from,
                    to,
                    view,
                }
                .lag()
            })
            .collect();
        let lag = lags.iter().copied().max().unwrap_or(0);
        // lanes that read their own parts wait until the latest lane can read:
        // each lane's timing, and only it, is delayed (the stored streams, read
        // by several lanes, keep their cycles, which the lags count from)
        let whole = views.iter().all(|v| *v == LaneView::WHOLE);
        let end = (0..tv.len())
            .map(|l| self.sched(tv[l]).time() + lags[l])
            .max()
            .unwrap_or(0);
        let period = self.net.frame_period();
        let mut out = Vec::with_capacity(tv.len());
        for l in 0..tv.len() {
            let (a, t) = (args[l], tv[l]);
            let al = if !whole {
                let d = end - self.sched(t).time();
                vec![a, self.delay(t, d)]
            } else if lag == 0 {
                self.align(&[a, t])
            } else {
                vec![a, self.delay(t, lag)]
            };
            let (sa, st) = (self.sched(al[0]), self.sched(al[1]));
            let streams = Streams {
                arg: &sa,
                timing: &st,
                from,
                to,
                view: views[l],
            };
            if streams.banks(period).is_none() {
                let why = streams
                    .conflict(period, proc::broadcast::MAX_BANKS)
                    .unwrap_or_default();
                return self.fail(
                    n.span,
                    format!(
                        "a broadcast of {from:?} to {to:?} over {} lanes: {why}",
                        tv.len()
                    ),
                    "use fewer lanes, or broadcast an array that arrives with the frame it is broadcast onto",
                );
            }
            let kind = ProcKind::Broadcast {
                arg: al[0],
                timing: al[1],
                from: from.to_vec(),
                to: to.to_vec(),
                view: views[l],
            };
            out.push(self.after(kind, n.range, al[1], n.span));
        }
        Some(W::Lanes(out))
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
