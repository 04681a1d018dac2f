//! Lowering the array-op IR to a process network.
//!
//! Every array value becomes a stream, one element per cycle in C order; scalar
//! parameters become static buses; constants are folded into their users.
//! Each elementwise instruction becomes one registered process (one pipeline
//! stage); operands that arrive earlier than others are delayed so that every
//! process sees aligned elements. Broadcasts of a row or column become a small
//! memory that stores the short stream and replays it against the long one.
//! Views (`reshape`) cost nothing; slices become stream filters; reductions keep
//! a line of accumulators; bin counts a pair of memories (one counts the frame
//! while the other streams out the previous frame's counts).
//! Bus widths come from range analysis (`hissc_aop::passes::ranges`).
//!
//! ```text
//! v2: bool[32, 32] = gt v0, v1             b2 = gt b0, b1 : s2 [0, 1] at 1 [0+1024]
//! v4: u16[32, 32] = where v2, v0, v3   =>  b3 = delay b0, 1 : s17 [0, 65535] at 1 [0+1024]
//!                                          b4 = select b2, b3, #0 : s17 [0, 65535] at 2 [0+1024]
//! ```

use crate::ir::{Bincount, Broadcast, Reduce};
use crate::ir::{Bus, LaneView, Network, Output, Port, ProcKind, Sched, Src, StatePort};
use crate::proc;
use crate::proc::broadcast::Streams;
use cranelift_entity::SecondaryMap;
use hissc_aop::passes::ranges::{ranges, Ranges};
use hissc_aop::types::numel;
use hissc_aop::{DType, Inst, Interval, Kernel, Shape, Value};
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
    /// A constant table (only read by `gather`).
    Table(Vec<i128>),
    /// A state's value as the frame began: a `load` built where it is used, timed
    /// by the stream it is combined with.
    State(u32),
    /// The flat indices of an array of this many elements: an `iota` built where
    /// it is used, counting the stream it is combined with.
    Iota(u32),
    /// A variable-length output: the values and the mask that selects them, in step.
    Vec(Bus, Bus),
}

struct Lowering<'a> {
    k: &'a Kernel,
    ranges: Ranges,
    net: Network,
    map: SecondaryMap<Value, Option<L>>,
    delays: HashMap<(Bus, u32), Bus>,
    broadcasts: HashMap<(Value, Bus), Bus>,
    /// Each state's load, once built, and the timing stream it follows.
    loads: HashMap<u32, (Bus, Bus)>,
    /// The first `n` elements of the first input, by `n` (timing for state reads).
    prefixes: HashMap<u32, Bus>,
    /// Index counters, by the stream they count.
    iotas: HashMap<Bus, Bus>,
    diags: Vec<Diagnostic>,
}

/// Lowers a verified kernel; constructs that cannot stream are diagnostics.
pub fn lower(k: &Kernel) -> Result<Network, Vec<Diagnostic>> {
    let mut l = Lowering {
        k,
        ranges: ranges(k),
        net: Network::new(k.name.clone()),
        map: SecondaryMap::new(),
        delays: HashMap::new(),
        broadcasts: HashMap::new(),
        loads: HashMap::new(),
        prefixes: HashMap::new(),
        iotas: HashMap::new(),
        diags: Vec::new(),
    };
    for p in &k.params {
        let port = Port {
            name: p.name.clone(),
            dtype: p.ty.dtype,
            shape: p.ty.shape.clone(),
            range: p.range,
            lanes: 1,
        };
        if p.is_stream() {
            l.net.inputs.push(port);
        } else {
            l.net.params.push(port);
        }
    }
    for (v, _) in k.insts.iter() {
        match l.inst(v) {
            Some(x) => l.map[v] = Some(x),
            None => return Err(l.diags),
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
        let lowered = match l.map[o].clone() {
            Some(L::State(s)) => l.load(s, None, span).map(L::Bus),
            Some(L::Iota(n)) => l.iota(n, None, span).map(L::Bus),
            // a value constant during a frame, as the array numpy returns
            Some(x) if !ty.shape.is_empty() => {
                let (n, r) = (ty.numel() as u32, l.ranges[o]);
                match l.materialize_static(&x, n, r, span) {
                    Some(b) => Some(L::Bus(b)),
                    None => Some(x),
                }
            }
            other => other,
        };
        match lowered {
            Some(L::Bus(b)) if !l.net.nodes[b].sched.is_static() => {
                l.net.outputs.push(Output {
                    name,
                    lanes: vec![b],
                    dtype: ty.dtype,
                    shape: ty.shape,
                    mask: None,
                });
            }
            Some(L::Vec(b, m)) => {
                l.net.outputs.push(Output {
                    name,
                    lanes: vec![b],
                    dtype: ty.dtype,
                    shape: ty.shape,
                    mask: Some(vec![m]),
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
    l.states();
    if l.diags.is_empty() {
        proc::load::settle(&mut l.net);
        Ok(l.net)
    } else {
        Err(l.diags)
    }
}

impl Lowering<'_> {
    fn node(&mut self, kind: ProcKind, range: Interval, sched: Sched, span: Span) -> Bus {
        self.net.process(kind, range, sched, span)
    }

    fn sched(&self, b: Bus) -> Sched {
        self.net.nodes[b].sched.clone()
    }

    /// The bus `b`, `d` cycles later (shared between users).
    fn delay(&mut self, b: Bus, d: u32) -> Bus {
        self.net.delayed(&mut self.delays, b, d)
    }

    /// Delays streams so that they all start in the same cycle.
    fn align(&mut self, buses: &[Bus]) -> Vec<Bus> {
        self.net.align(&mut self.delays, buses)
    }

    fn not_streamable(&mut self, span: Span, what: &str, help: &str) -> Option<L> {
        self.diags.push(
            Diagnostic::error(Code::NOT_STREAMABLE, what.to_string())
                .primary(span, "cannot be computed in one pass over the stream")
                .help(help.to_string()),
        );
        None
    }

    /// The load of state `s`, timed by `timing` (by default a stream of the state's
    /// element count from the first input); a state has one load, one timing.
    fn load(&mut self, s: u32, timing: Option<Bus>, span: Span) -> Option<Bus> {
        let st = &self.k.states[s as usize];
        let n = st.ty.numel() as u32;
        let name = st.name.clone();
        // a 0-d state beside a whole stream is read once, then broadcast like any
        // one value of a frame
        let timing = timing.filter(|&t| n != 1 || self.sched(t).elements() == 1);
        if let Some(&(bus, t)) = self.loads.get(&s) {
            match timing {
                None => return Some(bus),
                Some(x) if x == t => return Some(bus),
                Some(x) if self.sched(x) == self.sched(t) => return Some(bus),
                Some(x)
                    if self.sched(x).same_pattern(&self.sched(t))
                        && self.sched(x).time() > self.sched(t).time() =>
                {
                    let d = self.sched(x).time() - self.sched(t).time();
                    return Some(self.delay(bus, d));
                }
                Some(_) => {
                    self.diags.push(
                        Diagnostic::error(Code::NOT_STREAMABLE, format!("state `{name}` is read at two different times in the frame"))
                            .primary(span, "read here with other timing than before")
                            .help("the state is one memory read once per element: combine it with values of the same timing (computed the same way from the frame)"),
                    );
                    return None;
                }
            }
        }
        let timing = match timing {
            Some(t) => t,
            None => self.default_timing(n, span, &name)?,
        };
        if self.sched(timing).elements() != n {
            self.diags.push(
                Diagnostic::error(
                    Code::NOT_STREAMABLE,
                    format!("state `{name}` ({n} element{}) is combined with a stream of {} elements", if n == 1 { "" } else { "s" }, self.sched(timing).elements()),
                )
                .primary(span, "element counts differ")
                .help("combine a state with values of its own shape (a 0-d state with frame-wide reductions, a frame-shaped state with the frame)"),
            );
            return None;
        }
        let ty = &self.k.states[s as usize].ty;
        let kind = ProcKind::Load {
            state: s,
            lane: 0,
            timing,
        };
        let sched = proc::load::schedule(&self.sched(timing));
        let bus = self.node(kind, Interval::of(ty.dtype), sched, span);
        self.loads.insert(s, (bus, timing));
        Some(bus)
    }

    /// Stores `arg` (shape `from`) and answers each element of `timing` (shape
    /// `to`) with its source element, the timing stream waiting where the source
    /// comes later (a row's or frame's statistic applied back onto it).
    fn broadcast(
        &mut self,
        arg: Bus,
        timing: Bus,
        from: &[u32],
        to: &[u32],
        span: Span,
    ) -> Option<Bus> {
        let (sa, st) = (self.sched(arg), self.sched(timing));
        let whole = |arg, timing| Streams {
            arg,
            timing,
            from,
            to,
            view: LaneView::WHOLE,
        };
        let lag = whole(&sa, &st).lag();
        let (arg, timing) = if lag == 0 {
            // the stored stream and the timing stream start in the same cycle
            let al = self.align(&[arg, timing]);
            (al[0], al[1])
        } else {
            (arg, self.delay(timing, lag))
        };
        let period = self.net.frame_period();
        let (sa, st) = (self.sched(arg), self.sched(timing));
        if sa.elements() as usize != numel(from) || st.elements() as usize != numel(to) {
            return self
                .not_streamable(
                    span,
                    "a broadcast of a sliced array",
                    "broadcast whole rows or columns, or a reduction along an axis",
                )
                .and(None);
        }
        // one bank: the network's own broadcasts are read within a frame
        if whole(&sa, &st).banks(period) != Ok(1) {
            return self
                .not_streamable(
                    span,
                    "a value is broadcast over elements that arrive after the next frame's value",
                    "apply a row's statistic to its own row, or a frame's to its own frame",
                )
                .and(None);
        }
        let r = self.net.nodes[arg].range;
        let kind = ProcKind::Broadcast(Broadcast {
            arg,
            timing,
            from: from.to_vec(),
            to: to.to_vec(),
            view: LaneView::WHOLE,
        });
        Some(self.node(kind, r, st.delayed(1), span))
    }

    /// The flat indices `0..n`, counting `timing` (by default a stream of `n`
    /// elements from the first input).
    fn iota(&mut self, n: u32, timing: Option<Bus>, span: Span) -> Option<Bus> {
        let timing = match timing {
            Some(t) => t,
            None => self.default_timing(n, span, "the indices")?,
        };
        if self.sched(timing).elements() != n {
            self.diags.push(
                Diagnostic::error(
                    Code::NOT_STREAMABLE,
                    format!(
                        "indices of {n} elements are combined with a stream of {}",
                        self.sched(timing).elements()
                    ),
                )
                .primary(span, "element counts differ")
                .help("combine indices with arrays of their own shape"),
            );
            return None;
        }
        if let Some(&b) = self.iotas.get(&timing) {
            return Some(b);
        }
        let kind = ProcKind::Iota {
            timing,
            first: 0,
            step: 1,
            wrap: None,
        };
        let range = proc::iota::range(&self.net, timing, 0, 1, None);
        let sched = proc::iota::schedule(&self.sched(timing));
        let b = self.node(kind, range, sched, span);
        self.iotas.insert(timing, b);
        Some(b)
    }

    /// A stream of `n` elements per frame to time a state read that nothing else
    /// times: the first input stream, or the first `n` of its elements.
    /// The kernel's first input stream.
    fn first_input(&self) -> Option<Bus> {
        self.net
            .nodes
            .iter()
            .find(|(_, x)| matches!(x.kind, ProcKind::Input(..)))
            .map(|(b, _)| b)
    }

    fn default_timing(&mut self, n: u32, span: Span, name: &str) -> Option<Bus> {
        let Some(input) = self.first_input() else {
            self.diags.push(
                Diagnostic::error(
                    Code::NOT_STREAMABLE,
                    format!("state `{name}` is read before any input stream"),
                )
                .primary(span, "nothing streams yet")
                .help("a kernel with state needs an array input"),
            );
            return None;
        };
        let m = self.sched(input).elements();
        if n == m {
            return Some(input);
        }
        if n > m {
            self.diags.push(
                Diagnostic::error(Code::NOT_STREAMABLE, format!("state `{name}` has more elements ({n}) than a frame ({m})"))
                    .primary(span, "read here against nothing of its size")
                    .help("a state is read and written at most one element per cycle: keep it no larger than the frame"),
            );
            return None;
        }
        if let Some(&b) = self.prefixes.get(&n) {
            return Some(b);
        }
        let shape = vec![m];
        let sel = vec![(0, 1, n)];
        let s = proc::slice::schedule(&self.sched(input), &shape, &sel);
        let r = self.net.nodes[input].range;
        let b = self.node(ProcKind::Slice(input, shape, sel), r, s, span);
        self.prefixes.insert(n, b);
        Some(b)
    }

    /// A value constant during a frame (a constant, or computed from parameters
    /// alone: `src`) as a stream of `n` elements, timed by the first input (or
    /// its first `n` elements): `select(1, value, timing)`, whose users see the
    /// value once per element, as numpy's array of it. `None` when no input
    /// has `n` elements to give the cycles.
    fn materialize(&mut self, src: Src, n: u32, range: Interval, span: Span) -> Option<Bus> {
        let input = self.first_input()?;
        if n == 0 || n > self.sched(input).elements() {
            return None;
        }
        let timing = self.default_timing(n, span, "")?;
        let t = self.sched(timing);
        let sched = t.with_time(t.time() + 1);
        let kind = ProcKind::Select(Src::Const(1), src, Src::Bus(timing));
        Some(self.node(kind, range, sched, span))
    }

    /// [`Lowering::materialize`] of a lowered value that does not stream, if it
    /// is one (a constant or a static bus).
    fn materialize_static(&mut self, l: &L, n: u32, range: Interval, span: Span) -> Option<Bus> {
        let src = match *l {
            L::Const(c) => Src::Const(c),
            L::Bus(b) if self.sched(b).is_static() => Src::Bus(b),
            _ => return None,
        };
        self.materialize(src, n, range, span)
    }

    /// The states' ports and `next` outputs (after the kernel's outputs).
    fn states(&mut self) {
        let k = self.k;
        for (i, (st, &u)) in k.states.iter().zip(&k.updates).enumerate() {
            let span = k.insts[u].span;
            let lowered = match self.map[u].clone() {
                Some(L::State(s)) => self.load(s, None, span).map(L::Bus),
                other => other,
            };
            match lowered {
                Some(L::Bus(b)) if !self.net.nodes[b].sched.is_static() => {
                    self.net.states.push(StatePort {
                        name: st.name.clone(),
                        dtype: st.ty.dtype,
                        shape: st.ty.shape.clone(),
                        lanes: 1,
                        next: (k.outputs.len() + i) as u32,
                    });
                    self.net.outputs.push(Output {
                        name: format!("state_{}", st.name),
                        lanes: vec![b],
                        dtype: st.ty.dtype,
                        shape: st.ty.shape.clone(),
                        mask: None,
                    });
                }
                None => {}
                _ => self.diags.push(
                    Diagnostic::error(
                        Code::NOT_STREAMABLE,
                        format!("the new value of state `{}` does not depend on any input stream", st.name),
                    )
                    .primary(span, "constant during a frame")
                    .help("a state is updated from the frame's data; a constant belongs in a parameter"),
                ),
            }
        }
    }

    /// The stream bus of an operand that must stream.
    fn stream(&mut self, v: Value, span: Span, what: &str) -> Option<Bus> {
        match self.map[v] {
            Some(L::State(s)) => return self.load(s, None, span),
            Some(L::Iota(n)) => return self.iota(n, None, span),
            _ => {}
        }
        let lowered = self.map[v].clone()?;
        let (n, range) = (self.k.ty(v).numel() as u32, self.ranges[v]);
        if let Some(b) = self.materialize_static(&lowered, n, range, span) {
            return Some(b);
        }
        match lowered {
            L::Bus(b) if !self.sched(b).is_static() => Some(b),
            L::Deferred(..) => {
                self.not_streamable(
                    span,
                    &format!("{what} of a broadcast array"),
                    "broadcast only inside elementwise operations",
                );
                None
            }
            _ => {
                self.not_streamable(
                    span,
                    &format!("{what} of a value that does not depend on any input stream"),
                    "compute it on the host",
                );
                None
            }
        }
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
                    let sched = Sched::dense(numel(&p.ty.shape) as u32, 0);
                    self.node(ProcKind::Input(idx, 0), p.range, sched, p.span)
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
            Inst::State(s) => Some(L::State(*s)),
            Inst::Iota => Some(L::Iota(d.ty.numel() as u32)),
            Inst::Concat(vs, axis) => {
                let ax = *axis as usize;
                let mut srcs = Vec::new();
                let mut blocks = Vec::new();
                for v in vs {
                    srcs.push(self.stream(*v, span, "a join")?);
                    blocks.push(self.k.ty(*v).shape[ax..].iter().product::<u32>());
                }
                let reps: u32 = d.ty.shape[..ax].iter().product();
                let planned = proc::merge::plan(&self.net, &srcs, &blocks, reps).map(
                    |(delays, sched, depth)| {
                        srcs = srcs
                            .iter()
                            .zip(&delays)
                            .map(|(&b, &d)| if d > 0 { self.delay(b, d) } else { b })
                            .collect();
                        (sched, depth)
                    },
                );
                match planned {
                    Some((s, depth)) if depth.iter().all(|&x| x <= proc::merge::MAX_DEPTH) => {
                        // a joined array with more elements than the frame
                        // takes a longer frame period (its elements leave one
                        // per cycle)
                        let need = proc::merge::period_needed(&self.net, &srcs, &blocks, reps);
                        if need > self.net.frame_period() {
                            self.net.min_period = need;
                        }
                        let kind = ProcKind::Merge {
                            srcs,
                            blocks,
                            reps,
                        };
                        Some(L::Bus(self.node(kind, range, s, span)))
                    }
                    Some((_, depth)) => self.not_streamable(
                        span,
                        &{
                            let held = depth.iter().max().unwrap_or(&0);
                            let (joined, period) = (d.ty.numel(), self.net.frame_period());
                            if joined > period as usize {
                                format!("joining these arrays holds up to {held} elements back (a frame buffer): the joined array has {joined} elements per frame, which leave one per cycle while the frame arrives in {period}")
                            } else {
                                format!("joining these arrays holds up to {held} elements back (a frame buffer)")
                            }
                        },
                        "join arrays whose elements arrive in the joined order, such as interleaving the columns of one frame (`np.stack([a[:, 0], a[:, 1]], axis=1)`)",
                    ),
                    None => {
                        let (joined, period) = (d.ty.numel(), self.net.frame_period());
                        let what = if joined > period as usize {
                            format!("the joined array has {joined} elements per frame, and a frame takes {period} cycles to arrive")
                        } else {
                            "the joined elements would still be leaving as the next frame's arrive"
                                .to_string()
                        };
                        self.not_streamable(
                            span,
                            &what,
                            "a stream carries one element per cycle: join parts of the frame (slices of one input) into at most a frame's elements, or return the parts as separate outputs and join them on the host",
                        )
                    }
                }
            }
            Inst::Compress(a, m) => {
                let mb = self.stream(*m, span, "a selection")?;
                let ab = match self.map[*a].clone()? {
                    L::Iota(n) => self.iota(n, Some(mb), span)?,
                    L::State(s) => self.load(s, Some(mb), span)?,
                    _ => self.stream(*a, span, "a selection")?,
                };
                if !self.sched(ab).same_pattern(&self.sched(mb)) {
                    return self.not_streamable(
                        span,
                        "values and their mask arrive with different timing",
                        "select with a mask computed from the same input, in the same way",
                    );
                }
                let al = self.align(&[ab, mb]);
                Some(L::Vec(al[0], al[1]))
            }
            Inst::Const(c) => Some(L::Const(*c)),
            Inst::Table(values) => Some(L::Table(values.clone())),
            Inst::Broadcast(a) => match self.map[*a].clone()? {
                L::Const(c) => Some(L::Const(c)),
                L::State(s) if self.k.ty(*a).numel() == 1 && d.ty.numel() == 1 => Some(L::State(s)),
                L::Bus(b) if self.sched(b).is_static() => Some(L::Bus(b)),
                _ => Some(L::Deferred(
                    *a,
                    self.k.ty(*a).shape.clone(),
                    d.ty.shape.clone(),
                )),
            },
            Inst::Reshape(a) => match self.map[*a].clone()? {
                L::Deferred(..) => self.not_streamable(
                    span,
                    "a reshaped broadcast",
                    "reshape the array before broadcasting it",
                ),
                other => Some(other),
            },
            Inst::Unary(..)
            | Inst::Binary(..)
            | Inst::Compare(..)
            | Inst::Where(..)
            | Inst::Cast(..)
            | Inst::Gather(..) => self.elementwise(v, range, span),
            Inst::Slice(a, sel) => {
                let b = self.stream(*a, span, "a slice")?;
                let shape = self.k.ty(*a).shape.clone();
                let s = proc::slice::schedule(&self.sched(b), &shape, sel);
                let r = self.net.nodes[b].range;
                Some(L::Bus(self.node(
                    ProcKind::Slice(b, shape, sel.clone()),
                    r,
                    s,
                    span,
                )))
            }
            Inst::Reduce(op, a, axes) => {
                let b = self.stream(*a, span, "a reduction")?;
                let shape = self.k.ty(*a).shape.clone();
                let axes: Vec<u32> = if axes.is_empty() {
                    (0..shape.len() as u32).collect()
                } else {
                    axes.clone()
                };
                // a 0-d operand: reduce it as one element
                let (shape, axes) = if shape.is_empty() {
                    (vec![1], vec![0])
                } else {
                    (shape, axes)
                };
                let s = proc::reduce::schedule(&self.sched(b), &shape, &axes);
                Some(L::Bus(self.node(
                    ProcKind::Reduce(Reduce {
                        op: *op,
                        dtype: d.ty.dtype,
                        arg: b,
                        shape,
                        axes,
                    }),
                    range,
                    s,
                    span,
                )))
            }
            Inst::Scan(a) => {
                let b = self.stream(*a, span, "a cumulative sum")?;
                let s = self.sched(b);
                let count = s.elements();
                Some(L::Bus(self.node(
                    ProcKind::Scan(d.ty.dtype, b, count),
                    range,
                    s.delayed(1),
                    span,
                )))
            }
            Inst::Bincount(x, w, m, bins) => {
                let mut buses = vec![self.stream(*x, span, "bin counting")?];
                if let Some(w) = w {
                    buses.push(self.stream(*w, span, "bin counting")?);
                }
                if let Some(m) = m {
                    buses.push(self.stream(*m, span, "bin counting")?);
                }
                if buses
                    .iter()
                    .any(|b| !self.sched(*b).same_pattern(&self.sched(buses[0])))
                {
                    return self.not_streamable(
                        span,
                        "bin indices and weights arrive with different timing",
                        "compute both from the same input stream",
                    );
                }
                let period = self.net.frame_period();
                // the readout must clear a bank before the frame after next counts in it (the
                // float64 stages of a weighted count come after the memory)
                let latency = proc::bincount::LATENCY;
                if *bins + latency > period {
                    return self.not_streamable(
                        span,
                        &format!("{bins} bins take longer to stream out than a frame of {period} elements takes to stream in"),
                        &format!("use at most {} bins for frames of {period} elements", period.saturating_sub(latency)),
                    );
                }
                let aligned = self.align(&buses);
                let x0 = aligned[0];
                let wb = w.map(|_| aligned[1]);
                let mb = m.map(|_| aligned[if w.is_some() { 2 } else { 1 }]);
                let count = self.sched(x0).elements();
                let s = proc::bincount::schedule(&self.sched(x0), *bins, wb.is_some());
                let range = match wb {
                    // the bus carries float64 bits
                    Some(_) => Interval::of(DType::U64),
                    None => range,
                };
                let kind = ProcKind::Bincount(Bincount {
                    x: x0,
                    weights: wb,
                    mask: mb,
                    bins: *bins,
                    count,
                    float: wb.is_some(),
                });
                Some(L::Bus(self.node(kind, range, s, span)))
            }
        }
    }

    /// The streams among lowered operands (not static buses, constants, ...).
    fn streams(&self, lowered: &[L]) -> Vec<Bus> {
        lowered
            .iter()
            .filter_map(|l| match l {
                L::Bus(b) if !self.sched(*b).is_static() => Some(*b),
                _ => None,
            })
            .collect()
    }

    fn elementwise(&mut self, v: Value, range: Interval, span: Span) -> Option<L> {
        let d = &self.k.insts[v];
        let dtype = d.ty.dtype;
        let args: Vec<Value> = match &d.inst {
            Inst::Gather(_, i) => vec![*i],
            other => other.args(),
        };
        let lowered: Vec<L> = args
            .iter()
            .map(|a| self.map[*a].clone())
            .collect::<Option<_>>()?;
        let table = match &d.inst {
            Inst::Gather(t, _) => match self.map[*t].clone()? {
                L::Table(values) => Some(values),
                _ => {
                    return self.not_streamable(
                        span,
                        "a look-up in something that is not a constant table",
                        "",
                    )
                }
            },
            _ => None,
        };
        // the array-op passes fold constants (fold-constants): an operation
        // whose operands are all constants does not reach the network
        if lowered.iter().all(|l| matches!(l, L::Const(_))) {
            self.diags.push(
                Diagnostic::bug("an operation on constants reached the network unfolded")
                    .primary(span, "the array-op pass `fold-constants` folds these"),
            );
            return None;
        }
        // A cast that keeps every value of its operand costs nothing on the
        // network's untyped buses: its users read the operand's bus (the
        // other identities are the array-op pass `identities`).
        if let Some(i) = self.identity(&d.inst, dtype, &args, &lowered) {
            return Some(lowered[i].clone());
        }
        // State and index operands are read in step with a stream operand of
        // their own element count (a frame-wide condition beside a per-pixel
        // state does not time the state's reads), else with the first stream.
        let streams = self.streams(&lowered);
        let partner = |this: &Self, n: u32| {
            streams
                .iter()
                .copied()
                .find(|&b| this.sched(b).elements() == n)
                .or(streams.first().copied())
        };
        let mut lowered = lowered;
        for l in lowered.iter_mut() {
            match *l {
                L::State(s) => {
                    let n = self.k.states[s as usize].ty.numel() as u32;
                    *l = L::Bus(self.load(s, partner(self, n), span)?)
                }
                L::Iota(n) => *l = L::Bus(self.iota(n, partner(self, n), span)?),
                _ => {}
            }
        }
        // A value of the whole frame (or of one element per frame) combined with
        // the frame's elements: a broadcast that waits for it (a frame buffer).
        let result = d.ty.shape.clone();
        let big = lowered.iter().find_map(|l| match l {
            L::Bus(b)
                if self.sched(*b).elements() as usize == numel(&result) && numel(&result) > 1 =>
            {
                Some(*b)
            }
            _ => None,
        });
        if let Some(timing) = big {
            for l in lowered.iter_mut() {
                if let L::Bus(b) = *l {
                    let s = self.sched(b);
                    if !s.is_static() && s.elements() == 1 {
                        *l = L::Bus(self.broadcast(b, timing, &[], &result, span)?);
                    }
                }
            }
        }
        // The streams among the operands must share one pattern.
        let streams = self.streams(&lowered);
        if let Some(&first) = streams.first() {
            let first_sched = self.sched(first);
            if streams
                .iter()
                .any(|b| !self.sched(*b).same_pattern(&first_sched))
            {
                let one = streams.iter().any(|b| self.sched(*b).elements() == 1);
                let (what, help) = if one {
                    (
                        "a value computed from the whole frame is combined with the frame's own elements",
                        "the hardware streams each frame once; compute the frame-wide value in one kernel and apply it in the next frame or on the host",
                    )
                } else {
                    ("streams that carry their elements at different times are combined elementwise", "combine arrays computed from the same input in the same way (the same slices and reductions)")
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
                L::State(_) | L::Iota(_) | L::Vec(..) => {
                    self.diags
                        .push(Diagnostic::bug("an operand was not materialized").primary(span, ""));
                    return None;
                }
                L::Table(_) => {
                    return self.not_streamable(
                        span,
                        "a constant table used as an array",
                        "index it: `LUT[x]`",
                    )
                }
                L::Deferred(a, from, to) => {
                    // with nothing else streaming (a row against an array that
                    // is one constant, `x[...] = 14; row + x`), the first input
                    // of the result's size gives the cycles
                    let n = numel(to) as u32;
                    let frame = self
                        .first_input()
                        .filter(|&b| self.sched(b).elements() == n);
                    let Some(timing) = streams.first().copied().or(frame) else {
                        return self.not_streamable(
                            span,
                            "a broadcast of an array against nothing that streams",
                            "combine the row or column with an array input of the full shape",
                        );
                    };
                    let arg = match self.map[*a].clone()? {
                        L::Bus(b) => b,
                        L::State(s) => self.load(s, None, span)?,
                        L::Iota(n) => self.iota(n, None, span)?,
                        _ => {
                            return self.not_streamable(span, "a broadcast of a constant array", "")
                        }
                    };
                    let key = (*a, timing);
                    let bus = match self.broadcasts.get(&key) {
                        Some(&b) => b,
                        None => {
                            let b = self.broadcast(arg, timing, from, to, span)?;
                            self.broadcasts.insert(key, b);
                            b
                        }
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
            Inst::Gather(..) => ProcKind::Lookup(table.unwrap_or_default(), srcs[0]),
            _ => ProcKind::Cast(dtype, srcs[0]),
        };
        Some(L::Bus(self.node(kind, range, sched, span)))
    }
}

impl Lowering<'_> {
    /// Which operand (if any) an elementwise instruction returns unchanged for
    /// every value range analysis allows, where only the network can tell: a
    /// `cast` to a dtype that holds the values.
    fn identity(&self, inst: &Inst, dtype: DType, args: &[Value], lowered: &[L]) -> Option<usize> {
        let is_bus = |i: usize| matches!(lowered.get(i), Some(L::Bus(_)));
        match inst {
            Inst::Cast(_)
                if dtype != DType::Bool
                    && self.ranges[args[0]].within(Interval::of(dtype))
                    && is_bus(0) =>
            {
                Some(0)
            }
            _ => None,
        }
    }
}
